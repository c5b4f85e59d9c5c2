// What POST /api/graphs/plan answers, and how the editor sums it up per node.

export type { PlanEntry, PlanItem, PlanResult } from "../types";
import type { PlanEntry, PlanItem, PlanResult } from "../types";

export type Verdict = "change" | "none" | "unknown" | "fail";

export const VERDICT_LABEL: Record<Verdict, string> = {
  change: "will change", none: "no change", unknown: "unknown", fail: "would fail",
};

/** What a run would do to one node (or item), as the server declares it (never read from the
 *  effect's words): change something, nothing, fail, or not known. */
function verdictOf(entry: PlanEntry): Verdict {
  if (entry.fails) return "fail";
  if (entry.changes === true) return "change";
  return entry.changes === false ? "none" : "unknown";
}

/** Several verdicts as one: a failure first, then a change, then unknown; none only if all are none. */
function combine(verdicts: Verdict[]): Verdict {
  for (const v of ["fail", "change", "unknown"] as Verdict[]) if (verdicts.includes(v)) return v;
  return "none";
}

/** A node's verdict, over its items or inner nodes when it has them. */
export function nodeVerdict(entry: PlanEntry): Verdict {
  if (entry.children) return combine(Object.values(entry.children).map(nodeVerdict));
  if (entry.items) return entry.items.length ? combine(entry.items.map(verdictOf)) : "none";
  return verdictOf(entry);
}

/** Verdicts of the top-level nodes, for the badges on the canvas. */
export function planBadges(plan: PlanResult): Record<string, Verdict> {
  return Object.fromEntries(Object.entries(plan.nodes).map(([id, e]) => [id, nodeVerdict(e)]));
}

/** A value only a run can know: the server writes it as "(from node.port)" or "(input name)". */
export const isPlaceholder = (v: unknown): v is string =>
  typeof v === "string" && /^\((from|input) [^)]+\)$/.test(v);

/** Items grouped by batch, in order. */
export function byBatch(items: PlanItem[]): [number, PlanItem[]][] {
  const groups = new Map<number, PlanItem[]>();
  for (const it of items) groups.set(it.batch ?? 1, [...(groups.get(it.batch ?? 1) ?? []), it]);
  return [...groups.entries()].sort(([a], [b]) => a - b);
}

/** A config file a plan says changes; `diff` when the server could show it. */
export interface PlanFile { file: string; change?: string; diff?: string }

/** What a run would change on the host beyond the effect's words, as the CLI's `nebhx plan`
 *  prints it: release before/after, config (with its files and their diffs), restart, the
 *  balancer's changes and the snapshot. Read from the plan's own fields, never from its words. */
export function planDetails(entry: PlanEntry): { lines: string[]; files: PlanFile[] } {
  const e = entry as Record<string, unknown>;
  const obj = (v: unknown) => (v && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : null);
  const lines: string[] = [];
  const release = obj(e.release);
  if (release && "before" in release && release.before !== release.after) {
    lines.push(`release ${release.before ?? "(none)"} → ${release.after}`);
  }
  const config = obj(e.config);
  const files: PlanFile[] = [];
  if (config?.after) {
    const before = "before" in config ? config.before : config.running;
    const list = Array.isArray(config.files) ? config.files : [];
    for (const f of list) files.push(typeof f === "string" ? { file: f } : f as PlanFile);
    if (before !== config.after) {
      const named = files.map((f) => (f.change ? `${f.file} ${f.change}` : f.file));
      lines.push(`config ${before ?? "(none)"} → ${config.after}${named.length ? ` (${named.join(", ")})` : ""}`);
    }
  }
  if (e.restart) lines.push("restart");
  const bal = obj(e.balancer);
  if (bal) {
    const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);
    const steps = Array.isArray(bal.steps) && bal.steps.length ? bal.steps.join(", ")
      : `${count(bal.before)} → ${count(bal.after)} backends`;
    lines.push(`balancer ${bal.lb ?? ""}: ${steps}`);
  }
  const snap = obj(e.snapshot);
  if (snap) lines.push(`snapshot of ${snap.volume ?? "the data"}`);
  return { lines, files: files.filter((f) => f.diff) };
}
