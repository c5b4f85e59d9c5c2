// Conversion between the graph document (nebhx/graph@1) and React Flow nodes and edges.
import type { Edge, Node } from "@xyflow/react";
import type { GraphDoc, GraphEdge, GraphNode } from "../types";
import { ORDER_IN, ORDER_OUT } from "./wiring";

export const FORMAT = "nebhx/graph@1";
/** What a node id may be: the server's rule (`ID_PATTERN` in nebhx/graph_model.py, in graph.schema.json). */
export const NODE_ID_PATTERN = "^[^\\s$@\\[\\]][^\\s\\[\\]]{0,127}$";
const NODE_ID = new RegExp(NODE_ID_PATTERN, "u");
export const isNodeId = (id: unknown): id is string => typeof id === "string" && NODE_ID.test(id);

export type BrickNodeData = {
  brick: string;
  params: Record<string, unknown>;
  label?: string;
  /** Optional node keys (trigger, retries, timeout_s, for_each...) exactly as imported. */
  extra: Record<string, unknown>;
};
export type BrickNode = Node<BrickNodeData, "brick">;
export type GraphMeta = Omit<GraphDoc, "nodes" | "edges">;

export function emptyMeta(name = "untitled"): GraphMeta {
  return { format: FORMAT, name, description: "", inputs: [], outputs: [], meta: {} };
}

export function edgeId(e: GraphEdge): string {
  return e.from.port === undefined
    ? `${e.from.node}->${e.to.node}`
    : `${e.from.node}.${e.from.port}->${e.to.node}.${e.to.port}`;
}

export function toFlowEdge(e: GraphEdge): Edge {
  if (e.from.port === undefined) {
    return { id: edgeId(e), source: e.from.node, target: e.to.node, sourceHandle: ORDER_OUT,
             targetHandle: ORDER_IN, className: "nbx-control" };
  }
  return { id: edgeId(e), source: e.from.node, sourceHandle: e.from.port,
           target: e.to.node, targetHandle: e.to.port ?? null };
}

/** Where a node without a position goes: the index-th cell of an 8-wide grid. */
export function gridPosition(index: number): { x: number; y: number } {
  return { x: (index % 8) * 260, y: Math.floor(index / 8) * 180 };
}

export function toFlowNode(n: GraphNode, index = 0): BrickNode {
  const { id, brick, params, position, label, ...extra } = n;
  return {
    id,
    type: "brick",
    position: position ? { x: position.x, y: position.y } : gridPosition(index),
    data: { brick, params: params ?? {}, ...(label !== undefined ? { label } : {}), extra },
  };
}

export function toFlow(doc: GraphDoc): { nodes: BrickNode[]; edges: Edge[] } {
  return { nodes: doc.nodes.map(toFlowNode), edges: doc.edges.map(toFlowEdge) };
}

export function toDocNode(n: BrickNode): GraphNode {
  const out: GraphNode = {
    id: n.id,
    brick: n.data.brick,
    params: n.data.params,
    position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
  };
  if (n.data.label) out.label = n.data.label;
  return { ...out, ...n.data.extra };
}

export function toDocEdge(e: Edge): GraphEdge {
  if (e.sourceHandle === ORDER_OUT || e.targetHandle === ORDER_IN) {
    return { from: { node: e.source }, to: { node: e.target } };
  }
  return { from: { node: e.source, port: e.sourceHandle ?? "" }, to: { node: e.target, port: e.targetHandle ?? "" } };
}

export function toDoc(meta: GraphMeta, nodes: BrickNode[], edges: Edge[]): GraphDoc {
  return {
    format: FORMAT,
    name: meta.name,
    description: meta.description,
    inputs: meta.inputs,
    outputs: meta.outputs,
    nodes: nodes.map(toDocNode),
    edges: edges.map(toDocEdge),
    meta: meta.meta,
  };
}

/** The selected nodes, the edges between them, and the graph outputs they produce. */
export function selectionDoc(meta: GraphMeta, nodes: BrickNode[], edges: Edge[]): GraphDoc {
  const picked = nodes.filter((n) => n.selected);
  const ids = new Set(picked.map((n) => n.id));
  const inner = edges.filter((e) => ids.has(e.source) && ids.has(e.target));
  const doc = toDoc(meta, picked, inner);
  return { ...doc, outputs: doc.outputs.filter((o) => ids.has(o.from.node)) };
}

export function docJson(doc: GraphDoc): string {
  return JSON.stringify(doc, null, 2) + "\n";
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Parse and check an imported document; never throws. */
export function parseGraph(text: string): { doc?: GraphDoc; errors: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { errors: [`not JSON: ${(e as Error).message}`] };
  }
  if (!isObj(raw)) return { errors: ["the document must be a JSON object"] };
  const errors: string[] = [];
  if (raw.format !== FORMAT) errors.push(`format must be "${FORMAT}", got ${JSON.stringify(raw.format)}`);
  if (typeof raw.name !== "string" || !raw.name) errors.push("name must be a non-empty string");
  const nodes = raw.nodes ?? [];
  const edges = raw.edges ?? [];
  if (!Array.isArray(nodes)) errors.push("nodes must be a list");
  if (!Array.isArray(edges)) errors.push("edges must be a list");
  if (errors.length) return { errors };
  const ids = new Set<string>();
  (nodes as unknown[]).forEach((n, i) => {
    if (!isObj(n)) return errors.push(`nodes[${i}] must be an object`);
    if (!isNodeId(n.id)) {
      errors.push(`nodes[${i}].id is not a valid id (${JSON.stringify(n.id)}): no spaces, [ or ], not starting with $ or @, `
                  + "at most 128 characters");
    }
    else if (ids.has(n.id)) errors.push(`nodes[${i}].id "${n.id}" is used twice`);
    else ids.add(n.id);
    if (typeof n.brick !== "string" || !n.brick) errors.push(`nodes[${i}].brick must be a brick id`);
    if (n.params !== undefined && !isObj(n.params)) errors.push(`nodes[${i}].params must be an object`);
    const p = n.position;
    if (p !== undefined && p !== null && (!isObj(p) || typeof p.x !== "number" || typeof p.y !== "number")) {
      errors.push(`nodes[${i}].position must be {x, y}`);
    }
  });
  (edges as unknown[]).forEach((e, i) => {
    if (!isObj(e) || !isObj(e.from) || !isObj(e.to)) return errors.push(`edges[${i}] must have from and to`);
    for (const end of ["from", "to"] as const) {
      const ref = e[end] as Record<string, unknown>;
      if (!ids.has(ref.node as string)) errors.push(`edges[${i}].${end}.node "${String(ref.node)}" is not a node`);
    }
    if ((e.from.port === undefined) !== (e.to.port === undefined)) {
      errors.push(`edges[${i}] must name both ports (data) or neither (order)`);
    }
  });
  if (errors.length) return { errors };
  const doc = {
    ...raw,
    description: raw.description ?? "",
    inputs: raw.inputs ?? [],
    outputs: raw.outputs ?? [],
    nodes: (nodes as GraphNode[]).map((n) => ({ ...n, params: n.params ?? {} })),
    edges,
    meta: raw.meta ?? {},
  } as GraphDoc;
  return { doc, errors: [] };
}

/** A node id not used yet, made from the brick's short name. */
export function freshId(brick: string, taken: Set<string>): string {
  const base = (brick.split(".").pop() || "node").replace(/[^A-Za-z0-9_-]/g, "_");
  for (let i = 1; ; i++) {
    const id = `${base}_${i}`;
    if (!taken.has(id)) return id;
  }
}

/** Copy a fragment into a graph: fresh ids, shifted positions, only inner edges. */
export function pasteFragment(doc: GraphDoc, taken: Set<string>, shift = 40):
    { nodes: BrickNode[]; edges: Edge[] } {
  const ids = new Set(taken);
  const rename = new Map<string, string>();
  for (const n of doc.nodes) {
    const id = ids.has(n.id) ? freshId(n.brick, ids) : n.id;
    ids.add(id);
    rename.set(n.id, id);
  }
  const nodes = doc.nodes.map((n, i) => {
    const node = toFlowNode({ ...n, id: rename.get(n.id)! }, i);
    return { ...node, selected: true, position: { x: node.position.x + shift, y: node.position.y + shift } };
  });
  const edges = doc.edges
    .filter((e) => rename.has(e.from.node) && rename.has(e.to.node))
    .map((e) => toFlowEdge({ from: { ...e.from, node: rename.get(e.from.node)! },
                             to: { ...e.to, node: rename.get(e.to.node)! } }));
  return { nodes, edges };
}
