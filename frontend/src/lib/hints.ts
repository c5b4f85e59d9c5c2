// Hints on a rollout's order wires: what a valid graph still lacks to do what a rollout means.
// Trigger rules look at a node's direct upstream nodes only (backend engine/plan.py trigger_state),
// so a rollback must follow each switch and approval it answers, and a switch the approval is
// not about must wait for it.
import type { GraphDoc } from "../types";

export interface Hint {
  node: string;
  message: string;
}

const GATE = "gate.approval";
const SWITCH = "rollout.switch";
const ROLLBACK = "rollout.rollback";

/** Every node each node leads to, through data and order wires. */
function reach(doc: GraphDoc): (from: string, to: string) => boolean {
  const next = new Map<string, string[]>();
  for (const e of doc.edges) next.set(e.from.node, [...(next.get(e.from.node) ?? []), e.to.node]);
  const memo = new Map<string, Set<string>>();
  const down = (id: string): Set<string> => {
    let seen = memo.get(id);
    if (seen) return seen;
    seen = new Set();
    const todo = [...(next.get(id) ?? [])];
    while (todo.length) {
      const n = todo.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      todo.push(...(next.get(n) ?? []));
    }
    memo.set(id, seen);
    return seen;
  };
  return (from, to) => down(from).has(to);
}

const name = (doc: GraphDoc, id: string) => {
  const n = doc.nodes.find((x) => x.id === id);
  return n?.label ? `'${id}' (${n.label})` : `'${id}'`;
};

/** The order wires a rollout graph misses, each named on the node that should get it. */
export function rolloutHints(doc: GraphDoc): Hint[] {
  const of = (brick: string) => doc.nodes.filter((n) => n.brick === brick).map((n) => n.id);
  const gates = of(GATE), switches = of(SWITCH), rollbacks = doc.nodes.filter((n) => n.brick === ROLLBACK);
  if (!gates.length && !rollbacks.length) return [];
  const leads = reach(doc);
  const into = (id: string) => new Set(doc.edges.filter((e) => e.to.node === id).map((e) => e.from.node));
  const hints: Hint[] = [];
  for (const g of gates) {
    if (!into(g).size) {
      hints.push({ node: g, message: `nothing runs before this approval, so it asks as soon as the run starts: wire `
        + `the step it is about (the canary's e-mail, say) into its top handle` });
    }
    for (const s of switches.filter((x) => !leads(x, g) && !leads(g, x))) {
      hints.push({ node: s, message: `switches while approval ${name(doc, g)} waits: wire ${g}'s bottom handle to `
        + `this node's top handle if it should wait for the approval (the rest), or this node into the approval's `
        + `path if the approval is about it (the canary)` });
    }
  }
  for (const r of rollbacks) {
    const before = into(r.id);
    const guarded = [...switches, ...gates].filter((x) => !leads(r.id, x));
    if (r.trigger !== "any_failed" && r.trigger !== "all_failed") {
      if (guarded.some((x) => leads(x, r.id))) {
        const when = !r.trigger || r.trigger === "all_success" ? "only when every step before it succeeded"
          : "even when every step before it succeeded";
        hints.push({ node: r.id, message: `runs ${when}: set its trigger to any_failed to roll back on a failure `
          + "or a rejection" });
      }
      continue;
    }
    for (const x of guarded.filter((y) => !before.has(y))) {
      hints.push({ node: r.id, message: `does not follow ${name(doc, x)} directly: its trigger looks at the nodes `
        + `wired into it only, so a ${gates.includes(x) ? "rejection" : "failure"} of ${x} would not start it: `
        + `wire ${x}'s bottom handle to this node's top handle` });
    }
  }
  return hints;
}
