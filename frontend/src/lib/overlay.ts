// Small external stores for what is drawn over nodes (problems, run statuses): a node
// component subscribes to its own entry only, so an update re-renders only the nodes
// whose entry changed, and the graph's nodes and undo history stay untouched.
import { useSyncExternalStore } from "react";
import type { Problem, RunNode } from "../types";
import type { Verdict } from "./plan";

export interface MapStore<V> {
  get: () => Record<string, V>;
  set: (next: Record<string, V>) => void;
  subscribe: (listener: () => void) => () => void;
}

export function createMapStore<V>(): MapStore<V> {
  let map: Record<string, V> = {};
  const listeners = new Set<() => void>();
  return {
    get: () => map,
    set: (next) => {
      map = next;
      listeners.forEach((l) => l());
    },
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

export function useEntry<V>(store: MapStore<V>, key: string): V | undefined {
  return useSyncExternalStore(store.subscribe, () => store.get()[key]);
}

export function useMap<V>(store: MapStore<V>): Record<string, V> {
  return useSyncExternalStore(store.subscribe, store.get);
}

/** Problems found by the server's validation, by node id ("" for graph-level ones). */
export const problemStore = createMapStore<Problem[]>();
/** The state of each node in the run shown on the canvas. */
export const runStore = createMapStore<RunNode>();

export function groupProblems(problems: Problem[]): Record<string, Problem[]> {
  const out: Record<string, Problem[]> = {};
  for (const p of problems) (out[p.node ?? ""] ??= []).push(p);
  return out;
}
/** A counter per node, bumped by every log event, so an open log knows to reload. */
export const logStore = createMapStore<number>();
/** The last plan's verdict per node ("will change", "no change"...), until the graph changes. */
export const planStore = createMapStore<Verdict>();
