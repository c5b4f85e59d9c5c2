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
