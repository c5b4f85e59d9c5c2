import { useCallback, useEffect, useMemo, useState } from "react";
import { Api } from "../api/client";
import { decorate, ghosts } from "../lib/compare";
import type { BrickNode } from "../lib/graphDoc";
import type { GraphDiff } from "../types";

export interface Compare {
  diff: GraphDiff | null;
  start: (from: number) => Promise<void>;
  stop: () => void;
  /** The nodes to draw: coloured by the diff, with the removed ones as ghosts. */
  shown: BrickNode[];
}

/** Compares the revision on the canvas with an older one (or any other) of the same graph. */
export function useCompare(graphId: string | null, revision: number | null, nodes: BrickNode[],
                           fail: (e: unknown) => void): Compare {
  const [diff, setDiff] = useState<GraphDiff | null>(null);
  const [removed, setRemoved] = useState<BrickNode[]>([]);
  const stop = useCallback(() => { setDiff(null); setRemoved([]); }, []);
  useEffect(stop, [graphId, revision, stop]); // another graph or revision: compare again by hand
  const start = useCallback(async (from: number) => {
    if (!graphId || revision === null) return;
    try {
      const [d, older] = await Promise.all([Api.graphDiff(graphId, from, revision), Api.revision(graphId, from)]);
      setDiff(d);
      setRemoved(ghosts(d, older));
    } catch (e) {
      fail(e);
    }
  }, [graphId, revision, fail]);
  const shown = useMemo(() => decorate(nodes, diff, removed), [nodes, diff, removed]);
  return useMemo(() => ({ diff, start, stop, shown }), [diff, start, stop, shown]);
}
