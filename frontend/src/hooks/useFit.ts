// Fit the view to the graph, near enough to work in when the graph is small.
import { useCallback } from "react";
import { getViewportForBounds, useReactFlow, useStoreApi } from "@xyflow/react";
import type { BrickNode } from "../lib/graphDoc";
import { FAR_ZOOM } from "../lib/nodeBox";

/** A fit at least this share of FAR_ZOOM is drawn at FAR_ZOOM instead: ports and ids stay drawn and
 *  the graph's edges are cropped a little (at most an eighth on each side), where 6-8 nodes laid out
 *  a little wide used to fall into the far view, which draws no port. */
export const NEAR_ENOUGH = 0.75;

export const readableZoom = (zoom: number) => (zoom < FAR_ZOOM && zoom >= FAR_ZOOM * NEAR_ENOUGH ? FAR_ZOOM : zoom);

/** The view that shows `bounds` in a `width` x `height` pane, as the editor fits (zoom at most 1). */
export function fitViewport(bounds: { x: number; y: number; width: number; height: number }, width: number,
                            height: number, minZoom: number) {
  const fit = getViewportForBounds(bounds, width, height, minZoom, 1, 0.1);
  const zoom = readableZoom(fit.zoom);
  return zoom === fit.zoom ? fit : getViewportForBounds(bounds, width, height, zoom, zoom, 0.1);
}

/** `fit({duration})`: the whole graph in view, as fitViewport has it. */
export function useFit() {
  const flow = useReactFlow<BrickNode>();
  const store = useStoreApi<BrickNode>();
  return useCallback((options: { duration?: number } = {}) => {
    const { width, height, minZoom } = store.getState();
    const nodes = flow.getNodes();
    if (!nodes.length || !width || !height) return flow.fitView({ ...options, maxZoom: 1 });
    const { zoom } = fitViewport(flow.getNodesBounds(nodes), width, height, minZoom);
    return flow.fitView({ ...options, maxZoom: 1, minZoom: zoom });
  }, [flow, store]);
}
