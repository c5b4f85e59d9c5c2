import { afterEach, describe, expect, it, vi } from "vitest";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { session } from "./api/session";
import { fakeServer, json, me } from "./test/fakeServer";
import { App } from "./App";

afterEach(() => {
  vi.unstubAllGlobals();
  session.setCsrf(null);
});

const button = (testId: string) => screen.getByTestId(testId) as HTMLButtonElement;

async function signIn(user: string, password: string) {
  fireEvent.change(screen.getByLabelText("User name"), { target: { value: user } });
  fireEvent.change(screen.getByLabelText("Password"), { target: { value: password } });
  fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
}

describe("signing in", () => {
  it("asks for a login when the server requires one, says why one fails, then shows the editor", async () => {
    const server = fakeServer({
      "GET /api/auth/me": me(null, null, "tok-0"),
      "POST /api/auth/login": [
        json({ detail: "wrong user name or password" }, 401),
        json({ detail: "too many attempts" }, 429, { "Retry-After": "30" }),
        me("olga", "operator", "tok-1"),
      ],
    });
    render(<App />);
    expect(await screen.findByTestId("login-page")).toBeTruthy();
    expect(screen.queryByTestId("tb-run")).toBeNull();
    await signIn("olga", "wrong");
    expect(button("login-page").querySelector("button")!.disabled).toBe(true);
    expect((await screen.findByRole("alert")).textContent).toBe("wrong user name or password");
    await signIn("olga", "wrong again");
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe("too many attempts Try again in 30 s."));
    await signIn("olga", "right");
    expect((await screen.findByTestId("session-user")).textContent).toBe("olga · operator");
    expect(screen.queryByTestId("login-page")).toBeNull();
    expect(screen.getByRole("button", { name: "Sign out" })).toBeTruthy();
    expect(await server.sent("POST /api/auth/login")[2].json()).toEqual({ username: "olga", password: "right" });
  });

  it("shows no login in open mode, and says it is open", async () => {
    fakeServer({ "GET /api/auth/me": me("local", "admin", null, "open") });
    render(<App />);
    expect((await screen.findByTestId("session-user")).textContent).toBe("local (open mode)");
    expect(screen.queryByTestId("login-page")).toBeNull();
    expect(screen.queryByRole("button", { name: "Sign out" })).toBeNull();
    expect(button("tb-save").disabled).toBe(false);
  });

  it("says when the server cannot be asked who is signed in, and tries again", async () => {
    fakeServer({ "GET /api/auth/me": [json({ detail: "database is down" }, 500), me("olga", "admin")] });
    render(<App />);
    expect((await screen.findByRole("alert")).textContent).toBe("Could not reach the server: database is down");
    fireEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect((await screen.findByTestId("session-user")).textContent).toBe("olga · admin");
  });

  it("signs out: back to the login page", async () => {
    const server = fakeServer({
      "GET /api/auth/me": me("olga", "admin", "tok-1"),
      "POST /api/auth/logout": new Response(null, { status: 204 }),
    });
    render(<App />);
    fireEvent.click(await screen.findByRole("button", { name: "Sign out" }));
    expect(await screen.findByTestId("login-page")).toBeTruthy();
    expect(server.sent("POST /api/auth/logout")[0].headers.get("X-CSRF-Token")).toBe("tok-1");
  });
});

describe("what a role may do", () => {
  it("a viewer sees Run, Save, Import and palette reload disabled, saying which role they need", async () => {
    fakeServer({ "GET /api/auth/me": me("vic", "viewer") });
    render(<App />);
    expect((await screen.findByTestId("session-user")).textContent).toBe("vic · viewer");
    expect(button("tb-run").disabled).toBe(true);
    expect(button("tb-run").title).toBe("needs the operator role");
    expect(button("tb-save").disabled).toBe(true);
    expect(button("tb-save").title).toBe("needs the admin role");
    expect(button("tb-import").disabled).toBe(true);
    expect((screen.getByLabelText("Reload palette") as HTMLButtonElement).disabled).toBe(true);
  });

  it("an operator may run but not save", async () => {
    fakeServer({ "GET /api/auth/me": me("olga", "operator") });
    render(<App />);
    await screen.findByTestId("session-user");
    expect(button("tb-run").disabled).toBe(false);
    expect(button("tb-save").disabled).toBe(true);
    expect(button("tb-save").title).toBe("needs the admin role");
    expect(button("tb-run").title).toBe("Run the saved revision");
    fireEvent.click(button("tb-run"));
    expect((await screen.findByTestId("toast")).textContent)
      .toBe("Saving needs the admin role: only a saved, unchanged graph can be run");
  });
});

describe("a session that ends", () => {
  it("shows the login page on a 401 and, signed in again, the editor as it was", async () => {
    fakeServer({
      "GET /api/auth/me": me("ana", "admin"),
      "POST /api/bricks/reload": json({ detail: "not signed in" }, 401),
      "POST /api/auth/login": me("ana", "admin", "tok-2"),
    });
    render(<App />);
    await screen.findByTestId("session-user");
    fireEvent.click(screen.getByRole("tab", { name: "Graph" }));
    fireEvent.change(screen.getByLabelText("Graph name"), { target: { value: "unsaved work" } });
    fireEvent.click(screen.getByLabelText("Reload palette"));
    expect((await screen.findByTestId("login-page")).textContent).toContain("Your session ended");
    await signIn("ana", "secret");
    await waitFor(() => expect(screen.queryByTestId("login-page")).toBeNull());
    expect(screen.getByTestId("graph-title").textContent).toContain("unsaved work");
  });

  it("can be typed into while a dialog is open under it", async () => {
    fakeServer({ "GET /api/auth/me": me("ana", "admin"), "POST /api/auth/login": me("ana", "admin", "tok-2") });
    render(<App />);
    await screen.findByTestId("session-user");
    fireEvent.click(screen.getByTestId("tb-import"));
    const under = await screen.findByTestId("import-text");
    act(() => session.end());
    await screen.findByTestId("login-page");
    const user = screen.getByLabelText("User name");
    act(() => user.focus());
    await new Promise((r) => setTimeout(r, 50));
    expect(document.activeElement).toBe(user);
    await signIn("ana", "secret");
    await waitFor(() => expect(screen.queryByTestId("login-page")).toBeNull());
    expect(screen.getByTestId("import-text")).toBe(under); // the dialog is as it was
  });
});

