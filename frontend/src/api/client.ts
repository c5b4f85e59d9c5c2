// The typed API client, generated from frontend/openapi.json (npm run openapi).
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";
import type { GraphDoc, Me, Problem } from "../types";
import { gridPosition } from "../lib/graphDoc";
import { session, sessionMiddleware } from "./session";

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
    return Array.isArray(this.detail) ? this.detail.filter(isProblem) : [];
  }
}

/** Every 422 lists problems (ProblemList in the schema); anything else is not one. */
function isProblem(p: unknown): p is Problem {
  return !!p && typeof p === "object" && "code" in p && "message" in p;
}

function describe(status: number, detail: unknown): string {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => (d && typeof d === "object" && "message" in d ? String(d.message)
      : d && typeof d === "object" && "msg" in d ? String(d.msg) : JSON.stringify(d))).join("; ");
  }
  return `request failed (${status})`;
}

/** What openapi-fetch answers: the typed body of a success, or the error body. */
type Answer<D> = { data?: D; error?: unknown; response: Response };

function failure(error: unknown, response: Response): ApiError {
  const detail = error && typeof error === "object" && "detail" in error ? error.detail : error;
  return new ApiError(response.status, detail, response.headers.get("Retry-After"));
}

/** The typed body of a successful answer (its type comes from the schema), or an ApiError. */
async function unwrap<D>(call: Promise<Answer<D>>): Promise<D> {
  const { data, error, response } = await call;
  if (!response.ok || data === undefined) throw failure(error, response);
  return data;
}

/** A successful answer without a body (204), or an ApiError. */
async function done(call: Promise<Answer<unknown>>): Promise<void> {
  const { error, response } = await call;
  if (!response.ok) throw failure(error, response);
}

/** A text answer (a log); an empty one may come without a body. */
async function text(call: Promise<Answer<string>>): Promise<string> {
  const { data, error, response } = await call;
  if (!response.ok) throw failure(error, response);
  return data ?? "";
}

/** Who is signed in; keeps the answer's CSRF token for the requests that follow. */
async function signedIn(call: Promise<Answer<Me>>): Promise<Me> {
  const me = await unwrap(call);
  session.setCsrf(me.csrf);
  return me;
}

const portRef = (r: { node: string; port?: string | null }) => (r.port ? { node: r.node, port: r.port } : { node: r.node });

/** A stored revision as the editor holds it: the lists and params the document left out, empty;
 *  inputs with the server's defaults. */
function asGraphDoc(d: components["schemas"]["Graph"]): GraphDoc {
  return {
    ...d,
    description: d.description ?? "",
    inputs: (d.inputs ?? []).map((i) => ({ type: "string", required: true, default: null, description: "", ...i })),
    outputs: d.outputs ?? [],
    nodes: (d.nodes ?? []).map((n, i) => ({ ...n, params: n.params ?? {}, label: n.label ?? undefined,
                                            position: n.position ?? gridPosition(i) })),
    edges: (d.edges ?? []).map((e) => ({ from: portRef(e.from), to: portRef(e.to) })),
    meta: d.meta ?? {},
  };
}

export const Api = {
  me: () => signedIn(api.GET("/api/auth/me")),
  login: (username: string, password: string) =>
    signedIn(api.POST("/api/auth/login", { body: { username, password } })),
  logout: async () => {
    await done(api.POST("/api/auth/logout"));
    session.setCsrf(null);
  },
  bricks: () => unwrap(api.GET("/api/bricks")),
  reloadBricks: () => unwrap(api.POST("/api/bricks/reload")),
  validate: (doc: GraphDoc, signal?: AbortSignal) =>
    unwrap(api.POST("/api/graphs/problems", { body: doc, signal })),
  /** What a run would do (no run is made); a viewer may ask. */
  plan: (graph: GraphDoc, inputs: Record<string, unknown>) =>
    unwrap(api.POST("/api/graphs/plan", { body: { graph, inputs } })),
  releases: () => unwrap(api.GET("/api/releases")),
  /** What rolling a service back on a host would do (each host's agent plans it; nothing changes);
   * `release`: an earlier staged release to go back to (default: the one before the last switch). */
  planRollback: (body: { host: string; service: string; instance?: string; release?: string }) =>
    unwrap(api.POST("/api/releases/rollback/plan", { body })),
  /** Start the rollback run (audited; the same as `nebhx rollback`). */
  rollback: (body: { host: string; service: string; instance?: string; release?: string }) =>
    unwrap(api.POST("/api/releases/rollback", { body })),
  pinRelease: (body: { host: string; service: string; release: string; pinned: boolean }) =>
    unwrap(api.POST("/api/releases/pin", { body })),
  serviceHistory: (host: string, service: string, instance?: string | null) =>
    unwrap(api.GET("/api/services/{host}/{svc}/history",
      { params: { path: { host, svc: service }, query: { instance: instance ?? "" } } })),
  /** A service's log since the offsets (none: its tail), read by the host's agent, secrets masked. */
  serviceLog: (host: string, service: string, instance: string | null | undefined, offsets: { out?: number; err?: number }) =>
    unwrap(api.GET("/api/services/{host}/{svc}/log",
      { params: { path: { host, svc: service }, query: { instance: instance ?? "", ...offsets } } })),
  /** Why a service runs on a host: process, release, config, data, the run that switched it, approvers, before. */
  why: (host: string, service: string, instance?: string | null) =>
    unwrap(api.GET("/api/services/{host}/{svc}/why",
      { params: { path: { host, svc: service }, query: instance ? { instance } : {} } })),
  volumes: () => unwrap(api.GET("/api/volumes")),
  deleteSnapshot: (body: { host: string; volume_url: string; snapshot: string }) =>
    unwrap(api.POST("/api/volumes/snapshots/delete", { body })),
  pruneSnapshots: (body: { host: string; volume_url: string; keep_last?: number; keep_days?: number }) =>
    unwrap(api.POST("/api/volumes/prune", { body })),
  graphs: () => unwrap(api.GET("/api/graphs")),
  graph: (id: string) => unwrap(api.GET("/api/graphs/{graph_id}", { params: { path: { graph_id: id } } })),
  revision: (id: string, n: number | "latest") =>
    unwrap(api.GET("/api/graphs/{graph_id}/revisions/{number}",
      { params: { path: { graph_id: id, number: String(n) } } })).then(asGraphDoc),
  /** A canary graph of one's own service, made from the shipped example (not saved). */
  canary: (body: components["schemas"]["CanaryRequest"]) =>
    unwrap(api.POST("/api/templates/canary", { body })).then((d) => ({ ...d, graph: asGraphDoc(d.graph as never) })),
  /** A revision exactly as saved, with the composites it uses in `includes` (the CLI's export). */
  exported: (id: string, n: number) =>
    unwrap(api.GET("/api/graphs/{graph_id}/revisions/{number}",
      { params: { path: { graph_id: id, number: String(n) } } })) as Promise<Record<string, unknown>>,
  create: (doc: GraphDoc) => unwrap(api.POST("/api/graphs", { body: doc })),
  save: (id: string, doc: GraphDoc) =>
    unwrap(api.PUT("/api/graphs/{graph_id}", { params: { path: { graph_id: id } }, body: doc })),
  runs: (graphId: string) =>
    unwrap(api.GET("/api/runs", { params: { query: { graph_id: graphId } } })),
  run: (id: string) => unwrap(api.GET("/api/runs/{run_id}", { params: { path: { run_id: id } } })),
  /** What the run's revision changed against the previous run's of the same graph. */
  runDiff: (id: string) => unwrap(api.GET("/api/runs/{run_id}/diff", { params: { path: { run_id: id } } })),
  /** What changed from revision `from` to revision `to` (defaults: the latest against the one before). */
  graphDiff: (id: string, from?: number, to?: number) =>
    unwrap(api.GET("/api/graphs/{graph_id}/diff", { params: { path: { graph_id: id }, query: { from, to } } })),
  startRun: (body: { graph_id: string; revision?: number; inputs: Record<string, unknown> }) =>
    unwrap(api.POST("/api/runs", { body: body })),
  cancel: (id: string) =>
    unwrap(api.POST("/api/runs/{run_id}/cancel", { params: { path: { run_id: id } } })),
  retry: (id: string, node: string) =>
    unwrap(api.POST("/api/runs/{run_id}/nodes/{node_id}/retry", { params: { path: { run_id: id, node_id: node } } })),
  /** The approver is the signed-in user (the server takes it from the session). */
  decide: (id: string, node: string, verdict: "approve" | "reject", comment: string) => {
    const opts = { params: { path: { run_id: id, node_id: node } }, body: { comment } };
    return unwrap(verdict === "approve"
      ? api.POST("/api/runs/{run_id}/nodes/{node_id}/approve", opts)
      : api.POST("/api/runs/{run_id}/nodes/{node_id}/reject", opts));
  },
  putSecret: async (name: string, value: string) => {
    await done(api.PUT("/api/secrets/{name}", { params: { path: { name } }, body: { value } }));
  },
  log: (id: string, node: string) =>
    text(api.GET("/api/runs/{run_id}/nodes/{node_id}/log",
      { params: { path: { run_id: id, node_id: node } }, parseAs: "text" })),
};

export const eventsUrl = (runId: string, after?: number) =>
  `/api/runs/${encodeURIComponent(runId)}/events${after ? `?after=${after}` : ""}`;
