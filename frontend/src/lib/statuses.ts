// The run and node statuses and trigger rules at run time, keyed by the generated unions
// (RunStatus, NodeStatus, TriggerRule from the server's enums): a member the server adds or
// drops fails `tsc` here, so the editor's lists cannot drift from the API.
import type { NodeStatus, RunStatus, TriggerRule } from "../types";

/** Each trigger rule: when the node may start. */
export const TRIGGER_RULES: Record<TriggerRule, string> = {
  all_success: "every upstream node succeeded (the default)",
  all_done: "every upstream node ended, however",
  any_failed: "an upstream node failed (a rollback branch)",
  all_failed: "every upstream node failed",
  always: "every upstream node ended, even in a cancelled run",
};

/** Whether a node in each status has ended. */
const NODE_ENDED: Record<NodeStatus, boolean> = {
  pending: false, queued: false, running: false, waiting: false,
  succeeded: true, failed: true, skipped: true, cancelled: true,
};

/** Whether a run in each status has ended. */
const RUN_ENDED: Record<RunStatus, boolean> = { running: false, succeeded: true, failed: true, cancelled: true };

const ended = (table: Record<string, boolean>): ReadonlySet<string> =>
  new Set(Object.entries(table).filter(([, done]) => done).map(([status]) => status));

export const ENDED_NODE_STATUSES = ended(NODE_ENDED);
export const ENDED_RUN_STATUSES = ended(RUN_ENDED);
export const NODE_STATUSES = Object.keys(NODE_ENDED);
export const RUN_STATUSES = Object.keys(RUN_ENDED);
