import type { BrickNode } from "./graphDoc";
import { toFlowNode } from "./graphDoc";
import type { GraphDiff, GraphDoc } from "../types";

export type DiffMark = "added" | "changed" | "removed";

/** How each node of the newer revision is marked: added or changed (unchanged: none). */
export function marks(diff: GraphDiff): Map<string, DiffMark> {
  const out = new Map<string, DiffMark>();
  for (const n of diff.nodes.added) out.set(n.id, "added");
  for (const n of diff.nodes.changed) out.set(n.id, "changed");
  return out;
}

/** The nodes the newer revision removed, drawn where they were, as ghosts nobody can move,
 *  wire or delete (they are not part of the graph and are never saved). */
export function ghosts(diff: GraphDiff, older: GraphDoc): BrickNode[] {
  const gone = new Set(diff.nodes.removed.map((n) => n.id));
  return older.nodes.map((n, i) => ({ n, i })).filter(({ n }) => gone.has(n.id)).map(({ n, i }) => ({
    ...toFlowNode(n, i), id: `ghost:${n.id}`, className: "nbx-diff-node-removed", draggable: false,
    connectable: false, deletable: false, selectable: false,
  }));
}

/** The canvas's nodes with their marks as class names, then the ghosts. */
export function decorate(nodes: BrickNode[], diff: GraphDiff | null, removed: BrickNode[]): BrickNode[] {
  if (!diff) return nodes;
  const m = marks(diff);
  return [...nodes.map((n) => (m.has(n.id) ? { ...n, className: `nbx-diff-node-${m.get(n.id)}` } : n)), ...removed];
}
