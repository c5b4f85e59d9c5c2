// A stand-in for the API server: answers fetch calls by "METHOD /path" and records the requests.
import { vi } from "vitest";
import palette from "./palette.json";

export type Answer = Response | ((req: Request) => Response | Promise<Response>);

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(body === undefined ? null : JSON.stringify(body),
               { status, headers: { "Content-Type": "application/json", ...headers } });

export const me = (user: string | null, role: string | null, csrf: string | null = "tok-1",
                   auth: "open" | "required" = "required") => json({ user, role, auth, csrf });

/** Routes answer in turn when given a list (the last one repeats); anything else is a 404. */
export function fakeServer(routes: Record<string, Answer | Answer[]>) {
  const requests: Request[] = [];
  const served = new Map<string, number>();
  const all: Record<string, Answer | Answer[]> = {
    "GET /api/bricks": () => json(palette),
    "POST /api/graphs/problems": () => json({ ok: true, problems: [] }),
    ...routes,
  };
  const fetch = vi.fn(async (req: Request) => {
    requests.push(req.clone());
    const key = `${req.method} ${new URL(req.url).pathname}`;
    const route = all[key];
    if (!route) return json({ detail: "Not Found" }, 404);
    const n = served.get(key) ?? 0;
    served.set(key, n + 1);
    const answer = Array.isArray(route) ? route[Math.min(n, route.length - 1)] : route;
    return typeof answer === "function" ? answer(req) : answer.clone();
  });
  vi.stubGlobal("fetch", fetch);
  const sent = (key: string) => requests.filter((r) => `${r.method} ${new URL(r.url).pathname}` === key);
  return { fetch, requests, sent };
}
