import { ENDED_NODE_STATUSES } from "./statuses";

export function formatDuration(s: number | null | undefined): string {
  if (s === null || s === undefined) return "";
  return s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(1)} s`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

const TERMINAL = ENDED_NODE_STATUSES;

/** Progress of a fan-out node's items: how many ended, how many failed, of how many. */
export function itemProgress(items: { status: string }[]): { done: number; failed: number; total: number } {
  let done = 0;
  let failed = 0;
  for (const it of items) {
    if (TERMINAL.has(it.status)) done++;
    if (it.status === "failed" || it.status === "cancelled") failed++;
  }
  return { done, failed, total: items.length };
}

/** A short one-line view of a JSON value (an item of a fan-out). */
export function shortJson(v: unknown, max = 40): string {
  const s = typeof v === "string" ? v : JSON.stringify(v) ?? "null";
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
