// Turn a selection of nodes into a composite: the selected nodes become a graph of their own
// (to be saved), and the selection is replaced by one node running that graph, wired as before.
import type { Edge } from "@xyflow/react";
import type { BrickSpec, GraphDoc, GraphInput } from "../types";
import { FORMAT, toDocEdge, toDocNode, toFlowEdge, type BrickNode, type GraphMeta } from "./graphDoc";
import { isControl } from "./wiring";

type Outputs = GraphMeta["outputs"];

/** The composite's graph, and how to put its node in place of the selection once it is saved. */
export interface Extraction {
  doc: GraphDoc;
  /** The outer graph with the selection replaced by a node of `brick` (`composite:<id>@<rev>`). */
  replace: (brick: string) => { nodes: BrickNode[]; edges: Edge[]; meta: GraphMeta };
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** A name for a graph input or output (the server's pattern), not yet taken. */
function uniqueName(base: string, taken: Set<string>): string {
  let name = base.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 120);
  if (!NAME.test(name)) name = `p_${name}`;
  let out = name;
  for (let i = 2; taken.has(out); i++) out = `${name}_${i}`;
  taken.add(out);
  return out;
}

/** The graph inputs a node's params read (`{"$input": name}`, at any depth). */
function inputRefs(value: unknown, found: Set<string>): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => inputRefs(v, found));
  else if (value && typeof value === "object") {
    const ref = (value as Record<string, unknown>).$input;
    if (typeof ref === "string" && Object.keys(value).length === 1) found.add(ref);
    else Object.values(value).forEach((v) => inputRefs(v, found));
  }
  return found;
}

/** The type a graph input must have to feed `port` of `node` (a list when the node fans out over it). */
function inputType(node: BrickNode | undefined, port: string, brickOf: (id: string) => BrickSpec | undefined): string {
  const type = brickOf(node?.data.brick ?? "")?.inputs.find((p) => p.name === port)?.type ?? "any";
  return node?.data.extra.for_each === port ? `${type}[]` : type;
}

/** Group edges by their source end: one graph port per output that crosses the boundary. */
function bySource(edges: Edge[]): Map<string, Edge[]> {
  const groups = new Map<string, Edge[]>();
  for (const e of edges) {
    const key = `${e.source}\u0000${e.sourceHandle ?? ""}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  return groups;
}

function nodeIdFor(name: string, taken: Set<string>): string {
  const base = name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 100) || "composite";
  let id = base;
  for (let i = 2; taken.has(id); i++) id = `${base}_${i}`;
  return id;
}

/** What the selection is and how it is wired to the rest of the graph. */
interface Cut {
  picked: BrickNode[];
  ids: Set<string>;
  entering: Edge[];
  leaving: Edge[];
  names: Set<string>; // graph input names taken (outputs are named apart)
}

/** Graph inputs the selected nodes read stay graph inputs: the composite node passes them on. */
function passedInputs(cut: Cut, meta: GraphMeta): GraphInput[] {
  const used = new Set<string>();
  cut.picked.forEach((n) => inputRefs(n.data.params, used));
  const passed = [...used].map((x) => meta.inputs.find((i) => i.name === x)
    ?? { name: x, type: "any", required: true, default: null, description: "" });
  passed.forEach((i) => cut.names.add(i.name));
  return passed;
}

interface Entry { source: string; sourceHandle: string; port: string }

/** Each output wired into the selection becomes a graph input that the inner ports read. */
function enteringInputs(cut: Cut, nodes: BrickNode[], brickOf: (id: string) => BrickSpec | undefined) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const inputs: GraphInput[] = [];
  const params = new Map<string, Record<string, unknown>>();
  const entries: Entry[] = [];
  for (const group of bySource(cut.entering.filter((e) => !isControl(e))).values()) {
    const first = group[0];
    const port = uniqueName(first.targetHandle ?? "input", cut.names);
    inputs.push({ name: port, type: inputType(byId.get(first.target), first.targetHandle ?? "", brickOf),
                  required: true, default: null, description: `From ${first.source}.${first.sourceHandle}` });
    for (const e of group) params.set(e.target, { ...params.get(e.target), [e.targetHandle ?? ""]: { $input: port } });
    entries.push({ source: first.source, sourceHandle: first.sourceHandle ?? "", port });
  }
  return { inputs, params, entries };
}

/** Each inner output wired out of the selection (or read as a graph output) becomes a graph output. */
function leavingOutputs(cut: Cut, meta: GraphMeta) {
  const outputs: Outputs = [];
  const names = new Map<string, string>();
  const taken = new Set<string>();
  const add = (node: string, port: string) => {
    const key = `${node}\u0000${port}`;
    if (!names.has(key)) {
      names.set(key, uniqueName(port, taken));
      outputs.push({ name: names.get(key)!, from: { node, port } });
    }
  };
  cut.leaving.filter((e) => !isControl(e)).forEach((e) => add(e.source, e.sourceHandle ?? ""));
  meta.outputs.filter((o) => cut.ids.has(o.from.node)).forEach((o) => add(o.from.node, o.from.port));
  return { outputs, nameOf: (node: string, port: string) => names.get(`${node}\u0000${port}`)! };
}

/** The composite node's wires: as the selection's, with the node in its place. */
function outerWires(cut: Cut, id: string, entries: Entry[], nameOf: (n: string, p: string) => string): Edge[] {
  const unique = (xs: string[]) => [...new Set(xs)];
  return [
    ...entries.map((w) => toFlowEdge({ from: { node: w.source, port: w.sourceHandle }, to: { node: id, port: w.port } })),
    ...cut.leaving.filter((e) => !isControl(e)).map((e) => toFlowEdge({
      from: { node: id, port: nameOf(e.source, e.sourceHandle ?? "") }, to: { node: e.target, port: e.targetHandle ?? "" } })),
    ...unique(cut.entering.filter(isControl).map((e) => e.source)).map((s) => toFlowEdge({ from: { node: s }, to: { node: id } })),
    ...unique(cut.leaving.filter(isControl).map((e) => e.target)).map((t) => toFlowEdge({ from: { node: id }, to: { node: t } })),
  ];
}

/** What to make of the selected nodes; a string says why nothing can be made. */
export function extractSelection(meta: GraphMeta, nodes: BrickNode[], edges: Edge[], name: string,
                                 brickOf: (id: string) => BrickSpec | undefined): Extraction | string {
  const picked = nodes.filter((n) => n.selected);
  if (!picked.length) return "Select the nodes to make a composite of first";
  if (!name.trim()) return "Give the composite a name";
  const ids = new Set(picked.map((n) => n.id));
  const cut: Cut = { picked, ids, names: new Set(), entering: edges.filter((e) => !ids.has(e.source) && ids.has(e.target)),
                     leaving: edges.filter((e) => ids.has(e.source) && !ids.has(e.target)) };
  const passed = passedInputs(cut, meta);
  const entry = enteringInputs(cut, nodes, brickOf);
  const { outputs, nameOf } = leavingOutputs(cut, meta);
  const doc: GraphDoc = {
    format: FORMAT, name: name.trim(), description: `Made from ${picked.length} nodes of ${meta.name}.`,
    inputs: [...passed, ...entry.inputs], outputs, meta: {},
    nodes: picked.map((n) => {
      const d = toDocNode(n);
      return { ...d, params: { ...d.params, ...entry.params.get(n.id) } };
    }),
    edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)).map(toDocEdge),
  };
  const replace = (brick: string) => {
    const rest = nodes.filter((n) => !ids.has(n.id)).map((n) => (n.selected ? { ...n, selected: false } : n));
    const id = nodeIdFor(name, new Set(nodes.map((n) => n.id))); // not an inner id either: undo tells them apart
    const position = { x: Math.min(...picked.map((n) => n.position.x)), y: Math.min(...picked.map((n) => n.position.y)) };
    const params = Object.fromEntries(passed.map((i) => [i.name, { $input: i.name }]));
    const node: BrickNode = { id, type: "brick", position, selected: true,
                              data: { brick, params, label: name.trim(), extra: {} } };
    const kept = edges.filter((e) => !ids.has(e.source) && !ids.has(e.target));
    const metaOut = meta.outputs.map((o) => (ids.has(o.from.node)
      ? { ...o, from: { node: id, port: nameOf(o.from.node, o.from.port) } } : o));
    return { nodes: [...rest, node], edges: [...kept, ...outerWires(cut, id, entry.entries, nameOf)],
             meta: { ...meta, outputs: metaOut } };
  };
  return { doc, replace };
}
