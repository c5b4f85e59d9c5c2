// Planning the graph on the canvas: POST /api/graphs/plan, the answer, and the badges it puts on nodes.
import { useCallback, useState } from "react";
import { Api } from "../api/client";
import { planStore } from "../lib/overlay";
import { planBadges, type PlanResult } from "../lib/plan";
import type { GraphDoc } from "../types";

/** The document the badges on the canvas were planned for (as JSON). */
let plannedFor: string | null = null;

export function usePlan(doc: () => GraphDoc, fail: (e: unknown) => void) {
  const [plan, setPlan] = useState<PlanResult | null>(null);
  const [planning, setPlanning] = useState(false);

  const start = useCallback(async (inputs: Record<string, unknown>) => {
    setPlanning(true);
    setPlan(null);
    try {
      const planned = doc();
      const answer = await Api.plan(planned, inputs);
      setPlan(answer);
      plannedFor = JSON.stringify(planned);
      planStore.set(planBadges(answer));
    } catch (e) {
      fail(e);
    } finally {
      setPlanning(false);
    }
  }, [doc, fail]);

  /** Closing the answer keeps the badges (until the graph changes). */
  const close = useCallback(() => { setPlan(null); setPlanning(false); }, []);
  return { plan, planning, start, close };
}

/** The graph is now `doc`: when it is not what was planned, a plan made before says nothing about
 *  it. (The first snapshot after opening a graph is the same document: it keeps the badges.) */
export const clearPlanBadges = (doc: GraphDoc) => {
  if (!Object.keys(planStore.get()).length || JSON.stringify(doc) === plannedFor) return;
  plannedFor = null;
  planStore.set({});
};
