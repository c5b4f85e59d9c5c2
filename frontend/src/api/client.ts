// The typed API client, generated from frontend/openapi.json (npm run openapi).
import createClient from "openapi-fetch";
import type { paths } from "./schema";
import type {
  GraphDoc, GraphInfo, GraphSummary, Me, Palette, Problem, Run, RunSummary,
} from "../types";
import { session, sessionMiddleware } from "./session";
import type { PlanResult } from "../lib/plan";
import type { ReleaseRow } from "../lib/releases";

// An absolute base (same origin) so requests are also valid outside a page (tests); fetch is
// looked up at each call so a test can stand in for it.
const options = { baseUrl: globalThis.location?.origin ?? "", fetch: (r: Request) => globalThis.fetch(r) };
export const api = createClient<paths>(options);
api.use(sessionMiddleware(() => Api.me()));

export class ApiError extends Error {
  constructor(readonly status: number, readonly detail: unknown, readonly retryAfter: string | null = null) {
    super(describe(status, detail));
  }
  get problems(): Problem[] {
    return Array.isArray(this.detail) ? (this.detail as Problem[]) : [];
  }
}

function describe(status: number, detail: unknown): string {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => (d && typeof d === "object" && "message" in d ? String(d.message)
      : d && typeof d === "object" && "msg" in d ? String(d.msg) : JSON.stringify(d))).join("; ");
  }
  return `request failed (${status})`;
}

type Result = { data?: unknown; error?: unknown; response: Response };

async function unwrap<T>(call: Promise<Result>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) {
    const detail = error && typeof error === "object" && "detail" in error ? error.detail : error;
    throw new ApiError(response.status, detail, response.headers.get("Retry-After"));
  }
  return data as T;
}

/** Who is signed in (the schema says only "an object": Me is the auth contract); keeps the
 *  answer's CSRF token for the requests that follow. */
async function signedIn(call: Promise<Result>): Promise<Me> {
  const me = await unwrap<Me>(call);
  session.setCsrf(me.csrf);
  return me;
}

export const Api = {
  me: () => signedIn(api.GET("/api/auth/me")),
  login: (username: string, password: string) =>
    signedIn(api.POST("/api/auth/login", { body: { username, password } })),
  logout: async () => {
    await unwrap<unknown>(api.POST("/api/auth/logout"));
    session.setCsrf(null);
  },
  bricks: () => unwrap<Palette>(api.GET("/api/bricks")),
  reloadBricks: () => unwrap<Palette>(api.POST("/api/bricks/reload")),
  validate: (doc: GraphDoc, signal?: AbortSignal) =>
    unwrap<{ ok: boolean; problems: Problem[] }>(
      api.POST("/api/graphs/problems", { body: doc, signal })),
  /** What a run would do (no run is made); a viewer may ask. */
  plan: (graph: GraphDoc, inputs: Record<string, unknown>) =>
    unwrap<PlanResult>(api.POST("/api/graphs/plan", { body: { graph, inputs } })),
  releases: () => unwrap<ReleaseRow[]>(api.GET("/api/releases")),
  graphs: () => unwrap<GraphSummary[]>(api.GET("/api/graphs")),
  graph: (id: string) => unwrap<GraphInfo>(api.GET("/api/graphs/{graph_id}", { params: { path: { graph_id: id } } })),
  revision: (id: string, n: number | "latest") =>
    unwrap<GraphDoc>(api.GET("/api/graphs/{graph_id}/revisions/{number}",
      { params: { path: { graph_id: id, number: String(n) } } })),
  create: (doc: GraphDoc) =>
    unwrap<{ id: string; name: string; revision: number }>(api.POST("/api/graphs", { body: doc })),
  save: (id: string, doc: GraphDoc) =>
    unwrap<{ id: string; name: string; revision: number }>(
      api.PUT("/api/graphs/{graph_id}", { params: { path: { graph_id: id } }, body: doc })),
  runs: (graphId: string) =>
    unwrap<RunSummary[]>(api.GET("/api/runs", { params: { query: { graph_id: graphId } } })),
  run: (id: string) => unwrap<Run>(api.GET("/api/runs/{run_id}", { params: { path: { run_id: id } } })),
  startRun: (body: { graph_id: string; revision?: number; inputs: Record<string, unknown> }) =>
    unwrap<Run>(api.POST("/api/runs", { body: body })),
  cancel: (id: string) =>
    unwrap<Run>(api.POST("/api/runs/{run_id}/cancel", { params: { path: { run_id: id } } })),
  retry: (id: string, node: string) =>
    unwrap<Run>(api.POST("/api/runs/{run_id}/nodes/{node_id}/retry", { params: { path: { run_id: id, node_id: node } } })),
  /** The approver is the signed-in user (the server takes it from the session). */
  decide: (id: string, node: string, verdict: "approve" | "reject", comment: string) => {
    const opts = { params: { path: { run_id: id, node_id: node } }, body: { comment } };
    return unwrap<Run>(verdict === "approve"
      ? api.POST("/api/runs/{run_id}/nodes/{node_id}/approve", opts)
      : api.POST("/api/runs/{run_id}/nodes/{node_id}/reject", opts));
  },
  putSecret: async (name: string, value: string) => {
    await unwrap<unknown>(api.PUT("/api/secrets/{name}", { params: { path: { name } }, body: { value } }));
  },
  log: (id: string, node: string) =>
    unwrap<string>(api.GET("/api/runs/{run_id}/nodes/{node_id}/log",
      { params: { path: { run_id: id, node_id: node } }, parseAs: "text" })),
};

export const eventsUrl = (runId: string, after?: number) =>
  `/api/runs/${encodeURIComponent(runId)}/events${after ? `?after=${after}` : ""}`;
