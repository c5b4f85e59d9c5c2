// Planning the graph on the canvas: POST /api/graphs/plan, the answer, and the badges it puts on nodes.
import { useCallback, useState } from "react";
import { Api } from "../api/client";
import { planStore } from "../lib/overlay";
import { planBadges, type PlanResult } from "../lib/plan";
import type { GraphDoc } from "../types";

export function usePlan(doc: () => GraphDoc, fail: (e: unknown) => void) {
  const [plan, setPlan] = useState<PlanResult | null>(null);
  const [planning, setPlanning] = useState(false);

  const start = useCallback(async (inputs: Record<string, unknown>) => {
    setPlanning(true);
    setPlan(null);
    try {
      const answer = await Api.plan(doc(), inputs);
      setPlan(answer);
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

/** The graph changed: a plan made before says nothing about it. */
export const clearPlanBadges = () => { if (Object.keys(planStore.get()).length) planStore.set({}); };
