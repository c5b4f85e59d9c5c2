// The browser session as the API client sees it: the CSRF token sent with every state-changing
// request, and the signal that the session ended (any 401) so the editor shows the login page.
import type { Middleware } from "openapi-fetch";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
/** Answers that are a wrong password, not an ended session. */
const NOT_A_SESSION_END = ["/api/auth/login"];

let csrf: string | null = null;
const ended = new Set<() => void>();

export const session = {
  /** Take the token of the latest /auth/me or /auth/login answer. */
  setCsrf: (token: string | null | undefined) => { csrf = token ?? null; },
  /** Called on any 401 outside the login call; returns the unsubscribe function. */
  onEnded: (fn: () => void) => {
    ended.add(fn);
    return () => { ended.delete(fn); };
  },
  end: () => { csrf = null; ended.forEach((fn) => fn()); },
};

function withToken(request: Request): Request {
  if (csrf) request.headers.set("X-CSRF-Token", csrf);
  return request;
}

async function isStaleCsrf(response: Response): Promise<boolean> {
  if (response.status !== 403) return false;
  try {
    const body: unknown = await response.clone().json();
    const detail = body && typeof body === "object" && "detail" in body ? body.detail : body;
    return /csrf/i.test(typeof detail === "string" ? detail : JSON.stringify(detail));
  } catch {
    return false;
  }
}

/**
 * Adds X-CSRF-Token to state-changing requests; on a 403 about CSRF (a stale token: the server
 * restarted, say) it fetches the session again and retries the request once; a 401 ends the session.
 */
export function sessionMiddleware(refresh: () => Promise<unknown>): Middleware {
  const spare = new Map<string, Request>();
  return {
    onRequest({ request, id }) {
      if (SAFE.has(request.method)) return undefined;
      spare.set(id, withToken(request).clone());
      return undefined;
    },
    async onResponse({ request, response, id, options }) {
      const again = spare.get(id);
      spare.delete(id);
      let answer = response;
      if (again && await isStaleCsrf(response)) {
        try {
          await refresh();
          answer = await options.fetch(withToken(again));
        } catch {
          answer = response;
        }
      }
      const path = new URL(request.url).pathname;
      if (answer.status === 401 && !NOT_A_SESSION_END.includes(path)) session.end();
      return answer === response ? undefined : answer;
    },
    onError({ id }) {
      spare.delete(id);
    },
  };
}
