// The run and node statuses and trigger rules at run time, keyed by the generated unions
// (RunStatus, NodeStatus, TriggerRule from the server's enums): a member the server adds or
// drops fails `tsc` here, so the editor's lists cannot drift from the API. The status legend
// (whether a status is an end, what may follow it and why) is the engine's own table of
// transitions, generated into ../api/statuses.json by `npm run openapi`.
import legend from "../api/statuses.json";
import type { NodeStatus, RunStatus, TriggerRule } from "../types";

/** Each trigger rule: when the node may start. */
export const TRIGGER_RULES: Record<TriggerRule, string> = {
  all_success: "every upstream node succeeded (the default)",
  all_done: "every upstream node ended, however",
  any_failed: "an upstream node failed (a rollback branch)",
  all_failed: "every upstream node failed",
  always: "every upstream node ended, even in a cancelled run",
};

/** One status of the legend: whether it is an end, and each status that may follow it, with why. */
export interface StatusEntry { ended: boolean; first?: string | null; next: Record<string, string> }

export const NODE_LEGEND: Record<NodeStatus, StatusEntry> = legend.node;
export const RUN_LEGEND: Record<RunStatus, StatusEntry> = legend.run;

const ended = (table: Record<string, StatusEntry>): ReadonlySet<string> =>
  new Set(Object.entries(table).filter(([, s]) => s.ended).map(([status]) => status));

export const ENDED_NODE_STATUSES = ended(NODE_LEGEND);
export const ENDED_RUN_STATUSES = ended(RUN_LEGEND);
export const NODE_STATUSES = Object.keys(NODE_LEGEND);
export const RUN_STATUSES = Object.keys(RUN_LEGEND);
