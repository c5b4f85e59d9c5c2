// Show a graph being put on the canvas before its nodes are drawn.
import { useCallback } from "react";
import { useReactFlow, useStoreApi } from "@xyflow/react";
import type { BrickNode } from "../lib/graphDoc";
import { boxOf, FAR_ZOOM } from "../lib/nodeBox";
import type { PaletteIndex } from "../lib/palette";
import { fitViewport } from "./useFit";

/**
 * Returns `place(nodes)`: sets the view to show all of them (as fitView will once they are
 * drawn) and, when that view is far out, gives each node the size of its far-out box: React
 * Flow shows it at once and its measurement changes nothing, where every node used to be drawn
 * in full, measured, given its size and drawn again (bench/editor_render.py). Near, nodes are
 * drawn and measured as usual.
 */
export function usePlaceNodes(palette: PaletteIndex) {
  const store = useStoreApi<BrickNode>();
  const { setViewport } = useReactFlow<BrickNode>();
  return useCallback((nodes: BrickNode[]): BrickNode[] => {
    const { width, height, minZoom } = store.getState();
    if (!nodes.length || !width || !height) return nodes;
    const boxes = nodes.map((n) => boxOf(n.id, n.data, palette.byId.get(n.data.brick)));
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    nodes.forEach((n, i) => {
      x0 = Math.min(x0, n.position.x);
      y0 = Math.min(y0, n.position.y);
      x1 = Math.max(x1, n.position.x + boxes[i].width);
      y1 = Math.max(y1, n.position.y + boxes[i].height);
    });
    const view = fitViewport({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, width, height, minZoom);
    void setViewport(view);
    if (view.zoom >= FAR_ZOOM) return nodes;
    return nodes.map((n, i) => ({ ...n, measured: boxes[i] }));
  }, [store, palette, setViewport]);
}
