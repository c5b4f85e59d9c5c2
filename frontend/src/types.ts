// Domain types of the Nebh-X API (see frontend/openapi.json for the wire schema).

export type JsonSchema = Record<string, unknown>;

export interface Port {
  name: string;
  direction: "in" | "out";
  type: string;
  required: boolean;
  title?: string;
  description?: string;
  default?: unknown;
}

export interface BrickSpec {
  id: string;
  title: string;
  category: string;
  icon?: string;
  docs?: string;
  parent?: string | null;
  host_input?: string | null;
  source?: string;
  /** A composite (a stored graph): its latest revision and `composite:<graph id>@<revision>`. */
  revision?: number;
  ref?: string;
  inputs: Port[];
  outputs: Port[];
  inputs_schema: JsonSchema;
  outputs_schema: JsonSchema;
}

export interface Palette {
  bricks: BrickSpec[];
  errors: { source: string; message: string }[];
  type_parents: Record<string, string>;
}

export interface PortRef {
  node: string;
  port?: string;
}

export interface GraphNode {
  id: string;
  brick: string;
  params: Record<string, unknown>;
  position: { x: number; y: number };
  label?: string;
  trigger?: string;
  retries?: number;
  timeout_s?: number;
  for_each?: string;
  [key: string]: unknown;
}

export interface GraphEdge {
  from: PortRef;
  to: PortRef;
}

export interface GraphInput {
  name: string;
  type: string;
  required: boolean;
  default: unknown;
  description: string;
}

export type GraphDoc = {
  format: "nebhx/graph@1";
  name: string;
  description: string;
  inputs: GraphInput[];
  outputs: { name: string; from: { node: string; port: string } }[];
  nodes: GraphNode[];
  edges: GraphEdge[];
  meta: Record<string, unknown>;
};

export interface Problem {
  node: string | null;
  port: string | null;
  code: string;
  message: string;
  path: string;
}

export type NodeStatus =
  | "pending" | "queued" | "ready" | "running" | "waiting"
  | "succeeded" | "failed" | "skipped" | "cancelled";

export interface RunNode {
  status: NodeStatus;
  attempt: number;
  inputs: Record<string, unknown> | null;
  outputs: Record<string, unknown> | null;
  error: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_s: number | null;
  host: string | null;
  brick?: string;
  /** Why a node is `waiting` (an approval gate), and the decision once taken. */
  wait?: RunWait | null;
  /** The instances of a `for_each` node, in item order. */
  items?: RunItem[];
}

export interface RunWait {
  reason?: string;
  timeout_s?: number | null;
  decision?: { approved: boolean; by: string; at: string; comment: string };
  [key: string]: unknown;
}

/** One instance of a fan-out node: id "web[0]", the item it ran for, and its own state. */
export interface RunItem extends RunNode {
  id: string;
  item: unknown;
}

export interface RunSummary {
  id: string;
  graph_id: string | null;
  graph_name: string;
  revision: number | null;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface Run extends RunSummary {
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown> | null;
  error: string | null;
  nodes: Record<string, RunNode>;
}

export interface RunEvent {
  id: number;
  run_id: string;
  node: string | null;
  kind: "run" | "node" | "log";
  status: string | null;
  at: string;
  data: Record<string, unknown> | null;
}

export interface GraphSummary {
  id: string;
  name: string;
  latest_revision: number;
  updated_at: string;
}

export interface GraphInfo {
  id: string;
  name: string;
  latest_revision: number;
  revisions: { number: number; created_at: string }[];
}

export type Role = "viewer" | "operator" | "admin";

/** Who is signed in (GET /api/auth/me, POST /api/auth/login). */
export interface Me {
  user: string | null;
  role: Role | null;
  /** "open": the single-user embedded mode (no login, user "local", role admin). */
  auth: "open" | "required";
  csrf: string | null;
}
