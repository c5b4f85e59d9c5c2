// Opening a composite's graph from one of its nodes, and the way back (a breadcrumb of outer graphs).
import { useCallback, useRef, useState } from "react";
import { Api } from "../api/client";
import type { useGraphFile } from "./useGraphFile";

type GraphFile = ReturnType<typeof useGraphFile>;

/** An outer graph left to open a composite: where to come back to. */
export interface TrailStep {
  id: string;
  revision: number;
  name: string;
}

export function useCompositeTrail(g: GraphFile, confirmLeave: (what: string) => Promise<boolean>,
                                  opened: () => void, fail: (e: unknown) => void) {
  const [trail, setTrail] = useState<TrailStep[]>([]);
  // Read after the confirmation: saving there makes a new revision of the outer graph.
  const here = useRef({ file: g.file, name: g.meta.name });
  here.current = { file: g.file, name: g.meta.name };

  const openComposite = useCallback(async (graphId: string, revision: number | null) => {
    try {
      if (!(await confirmLeave("open the composite"))) return;
      const info = await Api.graph(graphId);
      const { file, name } = here.current;
      await g.open(graphId, revision ?? info.latest_revision, info.latest_revision);
      if (file.id && file.revision !== null) setTrail((t) => [...t, { id: file.id!, revision: file.revision!, name }]);
      opened();
    } catch (e) {
      fail(e);
    }
  }, [confirmLeave, g, opened, fail]);

  /** Back to the outer graph at `index` of the trail (what was left open after it is dropped). */
  const back = useCallback(async (index: number) => {
    const step = trail[index];
    if (!step || !(await confirmLeave(`go back to ${step.name}`))) return;
    try {
      const info = await Api.graph(step.id);
      await g.open(step.id, step.revision, info.latest_revision);
      setTrail((t) => t.slice(0, index));
      opened();
    } catch (e) {
      fail(e);
    }
  }, [trail, confirmLeave, g, opened, fail]);

  const clear = useCallback(() => setTrail([]), []);
  return { trail, openComposite, back, clear };
}
