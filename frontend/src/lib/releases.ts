// The releases view (GET /api/releases) and the hosts x phases grid of a rollout run.
import type { Run, RunItem, RunNode } from "../types";

export type { ReleaseEntry, ReleaseRow } from "../types";

type Tree = RunNode & { id?: string; children?: Tree[] };

/** The host an item ran for: where it ran, else the item itself when it names a host. */
export function itemHost(it: RunItem): string | null {
  if (typeof it.item === "string") return it.item;
  if (it.item && typeof it.item === "object" && typeof (it.item as { name?: unknown }).name === "string") {
    return (it.item as { name: string }).name;
  }
  return it.host ?? null;
}

export interface Grid {
  hosts: string[];
  /** The nodes that fan out over hosts, in the run's order (inner ones by their run id). */
  phases: string[];
  cell: (host: string, phase: string) => RunItem | undefined;
}

/** Every node of the run with its id, composites' inner nodes included. */
function allNodes(run: Run): [string, Tree][] {
  const walk = (id: string, n: Tree): [string, Tree][] =>
    [[id, n], ...(n.children ?? []).flatMap((c) => walk(c.id ?? "", c))];
  return Object.entries(run.nodes).flatMap(([id, n]) => walk(id, n as Tree));
}

/** Hosts (rows) x fan-out nodes over hosts (columns); null when the run fans out over no host. */
export function rolloutGrid(run: Run, onHosts: (node: RunNode) => boolean = () => true): Grid | null {
  const cells = new Map<string, RunItem>();
  const hosts = new Set<string>();
  const phases: string[] = [];
  for (const [id, n] of allNodes(run)) {
    const items = n.items ?? [];
    if (!items.length || !onHosts(n)) continue;
    const named = items.map((it) => [itemHost(it), it] as const).filter(([h]) => h !== null);
    if (!named.length || named.length < items.length) continue;
    phases.push(id);
    for (const [h, it] of named) {
      hosts.add(h!);
      cells.set(`${h}\u0000${id}`, it);
    }
  }
  if (!phases.length) return null;
  return { hosts: [...hosts].sort(), phases, cell: (h, p) => cells.get(`${h}\u0000${p}`) };
}

/** rollout.switch's `steps` output (each step timed), as short text for a cell's title. */
export function stepsText(it: RunItem | undefined): string {
  const steps = it?.outputs?.steps;
  if (!steps || typeof steps !== "object") return "";
  const list = Array.isArray(steps) ? steps : Object.entries(steps).map(([k, v]) => ({ step: k, ...(v as object) }));
  return list.map((s) => {
    const o = s as Record<string, unknown>;
    const name = o.step ?? o.name ?? "?";
    const secs = o.duration_s ?? o.s ?? o.seconds;
    return typeof secs === "number" ? `${name} ${secs.toFixed(2)}s` : String(name);
  }).join(", ");
}
