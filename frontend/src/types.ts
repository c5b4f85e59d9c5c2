// The API's types, one short name each for the ones generated from the server's pydantic models
// (src/api/schema.d.ts, made from openapi.json by `npm run openapi`). Nothing here is kept by hand
// but the graph document's optional fields the server fills in (see GraphNode).
import type { components } from "./api/schema";

type Schemas = components["schemas"];

export type JsonSchema = Record<string, unknown>;

export type Port = Schemas["Port"];
export type BrickSpec = Schemas["BrickSpec"];
export type Palette = Schemas["Palette"];
export type Problem = Schemas["Problem"];

export type NodeStatus = Schemas["NodeStatus"];
export type RunStatus = Schemas["RunStatus"];
export type TriggerRule = Schemas["TriggerRule"];

export type RunSummary = Schemas["RunSummary"];
export type Run = Schemas["RunRead"];
export type RunNode = Schemas["NodeRead"];
/** One instance of a fan-out node: id "web[0]", the item it ran for, and its own state. */
export type RunItem = Schemas["NodeItem"];
/** Why a node is `waiting` (an approval gate), and the decision once taken. */
export type RunWait = Schemas["NodeWait"];
export type RunEvent = Schemas["RunEvent"];

export type GraphSummary = Schemas["GraphSummary"];
export type GraphInfo = Schemas["GraphRead"];
export type GraphSaved = Schemas["GraphSaved"];
/** What changed between two revisions (GET /api/graphs/{id}/diff, /api/runs/{id}/diff). */
export type GraphDiff = Schemas["GraphDiff"];
/** Why a service runs on a host (GET /api/services/{host}/{service}/why). */
export type Why = Schemas["WhyRead"];

/** What POST /api/graphs/plan answers: one node's plan (or one fan-out item's, or a composite's
 *  inner node's), by node id. */
export type PlanResult = Schemas["PlanRead"];
export type HistoryEntry = Schemas["HistoryEntry"];
export type LogRead = Schemas["LogRead"];
export type PlanEntry = Schemas["PlanEntry"];
export type PlanItem = Schemas["PlanItem"];

/** One service instance on one host, as its agent last reported it (GET /api/releases). */
export type ReleaseRow = Schemas["ReleaseRow"];
export type ReleaseEntry = Schemas["ReleaseEntry"];

export type Role = Schemas["UserRead"]["role"];
/** Who is signed in (GET /api/auth/me, POST /api/auth/login). */
export type Me = Schemas["Me"];

// The graph document (nebhx/graph@1, Graph in the schema) as the editor holds it: the lists,
// params and positions present (Api.revision and parseGraph fill them in), what the server
// defaults optional.
type DocNode = Schemas["Node"];
export type PortRef = { node: string; port?: string };

export type GraphNode = Omit<DocNode, "trigger" | "retries" | "params" | "position" | "label"> & {
  params: Record<string, unknown>;
  position: { x: number; y: number };
  label?: string;
  trigger?: TriggerRule;
  retries?: number;
  [key: string]: unknown;
};

export interface GraphEdge {
  from: PortRef;
  to: PortRef;
}

export type GraphInput = Required<Schemas["GraphInput"]>;

export type GraphDoc = Omit<Schemas["Graph"], "inputs" | "outputs" | "nodes" | "edges" | "meta"> & {
  inputs: GraphInput[];
  outputs: Schemas["GraphOutput"][];
  nodes: GraphNode[];
  edges: GraphEdge[];
  meta: Record<string, unknown>;
};
