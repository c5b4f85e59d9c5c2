// Automatic layout, left to right, with dagre (loaded on first use).
import type { Edge } from "@xyflow/react";
import type { BrickNode } from "./graphDoc";

const FALLBACK = { width: 240, height: 140 };

export async function autoLayout(nodes: BrickNode[], edges: Edge[]): Promise<BrickNode[]> {
  const { default: dagre } = await import("@dagrejs/dagre");
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 90, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) {
    g.setNode(n.id, { width: n.measured?.width ?? FALLBACK.width, height: n.measured?.height ?? FALLBACK.height });
  }
  for (const e of edges) g.setEdge(e.source, e.target);
  dagre.layout(g);
  return nodes.map((n) => {
    const p = g.node(n.id);
    if (!p) return n;
    return { ...n, position: { x: Math.round(p.x - p.width / 2), y: Math.round(p.y - p.height / 2) } };
  });
}

interface Box { id: string; x: number; y: number; width: number; height: number }

/**
 * Keep saved positions but make room where nodes overlap (a node is taller here than
 * where the document was laid out): rows (nodes at the same y) move down together, just
 * enough for every node to clear the ones above it in its column, so the layout's rows
 * and columns stay as they were. Returns the new y of each node that moves.
 */
export function spreadRows(boxes: Box[], gap = 24): Map<string, number> {
  const levels = [...new Set(boxes.map((b) => b.y))].sort((a, b) => a - b);
  const placed: Box[] = [];
  const moved = new Map<string, number>();
  let shift = 0;
  for (const level of levels) {
    const row = boxes.filter((b) => b.y === level);
    let y = level + shift;
    for (const b of row) {
      for (const p of placed) {
        const sameColumn = b.x < p.x + p.width + gap && p.x < b.x + b.width + gap;
        if (sameColumn && p.y < y + b.height && y < p.y + p.height + gap) y = Math.max(y, Math.ceil(p.y + p.height + gap));
      }
    }
    shift = y - level;
    for (const b of row) {
      placed.push({ ...b, y });
      if (y !== b.y) moved.set(b.id, y);
    }
  }
  return moved;
}

const overlap = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/**
 * The same across: where a node overlaps one of a column to its left (a node wider here than
 * where it was laid out, or a tall one reaching down beside it), its column (nodes at the same x)
 * and every column right of it move right together, just enough to clear it. Nodes that only
 * come near are left for spreadRows. Returns the new x of each node that moves.
 */
export function spreadColumns(boxes: Box[], gap = 24): Map<string, number> {
  const levels = [...new Set(boxes.map((b) => b.x))].sort((a, b) => a - b);
  const placed: Box[] = [];
  const moved = new Map<string, number>();
  let shift = 0;
  for (const level of levels) {
    const column = boxes.filter((b) => b.x === level);
    let x = level + shift;
    for (let again = true; again;) {
      again = false;
      for (const b of column) {
        const hit = placed.find((p) => overlap({ ...b, x }, p));
        if (hit) {
          x = Math.ceil(hit.x + hit.width + gap);
          again = true;
        }
      }
    }
    shift = x - level;
    for (const b of column) {
      placed.push({ ...b, x });
      if (x !== b.x) moved.set(b.id, x);
    }
  }
  return moved;
}

/** The nodes with room made between overlapping ones (needs measured sizes); null when none moves. */
export function spreadOverlaps(nodes: BrickNode[]): BrickNode[] | null {
  const boxes = nodes.map((n) => ({ id: n.id, x: n.position.x, y: n.position.y,
    width: n.measured?.width ?? FALLBACK.width, height: n.measured?.height ?? FALLBACK.height }));
  const across = spreadColumns(boxes);
  const down = spreadRows(boxes.map((b) => ({ ...b, x: across.get(b.id) ?? b.x })));
  if (!across.size && !down.size) return null;
  return nodes.map((n) => (across.has(n.id) || down.has(n.id)
    ? { ...n, position: { x: across.get(n.id) ?? n.position.x, y: down.get(n.id) ?? n.position.y } } : n));
}
