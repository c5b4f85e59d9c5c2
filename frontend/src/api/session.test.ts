import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeServer, json, me } from "../test/fakeServer";
import { Api, ApiError } from "./client";
import { session } from "./session";

const created = () => json({ id: "g1", name: "demo", revision: 2 });
const doc = { name: "demo", nodes: [], edges: [] } as never;

afterEach(() => {
  vi.unstubAllGlobals();
  session.setCsrf(null);
});

describe("the API client's session handling", () => {
  it("sends the CSRF token of the latest /auth/me on state-changing requests, not on reads", async () => {
    const server = fakeServer({ "GET /api/auth/me": me("olga", "admin", "tok-1"), "POST /api/graphs": created(),
                                "GET /api/graphs": json([]) });
    await Api.me();
    await Api.create(doc);
    await Api.graphs();
    expect(server.sent("POST /api/graphs")[0].headers.get("X-CSRF-Token")).toBe("tok-1");
    expect(server.sent("GET /api/graphs")[0].headers.get("X-CSRF-Token")).toBeNull();
  });

  it("fetches a new token after a CSRF 403 and retries the request once, with the same body", async () => {
    const stale = json({ detail: "CSRF token missing or stale" }, 403);
    const server = fakeServer({
      "GET /api/auth/me": [me("olga", "admin", "tok-1"), me("olga", "admin", "tok-2")],
      "POST /api/graphs": [stale, created()],
    });
    await Api.me();
    expect(await Api.create(doc)).toEqual({ id: "g1", name: "demo", revision: 2 });
    const posts = server.sent("POST /api/graphs");
    expect(posts.map((r) => r.headers.get("X-CSRF-Token"))).toEqual(["tok-1", "tok-2"]);
    expect(await posts[1].json()).toEqual(doc);
  });

  it("retries only once, and a 403 that is not about CSRF is not retried", async () => {
    const server = fakeServer({
      "GET /api/auth/me": me("olga", "operator", "tok-1"),
      "POST /api/graphs": json({ detail: "CSRF token missing or stale" }, 403),
      "PUT /api/secrets/db": json({ detail: "needs the admin role" }, 403),
    });
    await expect(Api.create(doc)).rejects.toBeInstanceOf(ApiError);
    expect(server.sent("POST /api/graphs")).toHaveLength(2);
    await expect(Api.putSecret("db", "x")).rejects.toThrow("needs the admin role");
    expect(server.sent("PUT /api/secrets/db")).toHaveLength(1);
  });

  it("ends the session on a 401, but not on a wrong password", async () => {
    fakeServer({
      "POST /api/auth/login": json({ detail: "wrong user name or password" }, 401),
      "GET /api/graphs": json({ detail: "not signed in" }, 401),
    });
    const ended = vi.fn();
    const stop = session.onEnded(ended);
    await expect(Api.login("olga", "nope")).rejects.toThrow("wrong user name or password");
    expect(ended).not.toHaveBeenCalled();
    await expect(Api.graphs()).rejects.toBeInstanceOf(ApiError);
    expect(ended).toHaveBeenCalledTimes(1);
    stop();
  });
});
