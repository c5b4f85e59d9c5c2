import { describe, expect, it } from "vitest";
import canary from "../../../examples/canary-update.json";
import sync from "../../../examples/sync-update.json";
import web from "../../../examples/web-service.json";
import cluster from "../../../examples/build-on-push-cluster.json";
import type { GraphDoc } from "../types";
import { rolloutHints } from "./hints";

const doc = (d: unknown) => structuredClone(d) as GraphDoc;
const without = (d: GraphDoc, from: string, to: string) =>
  ({ ...d, edges: d.edges.filter((e) => !(e.from.node === from && e.to.node === to && e.from.port === undefined)) });

describe("rolloutHints", () => {
  it("finds nothing missing in the shipped examples", () => {
    for (const d of [canary, sync, web, cluster]) expect(rolloutHints(doc(d))).toEqual([]);
  });

  it("names the order wire the canary misses into the rest, the gate and the rollback", () => {
    const base = doc(canary);
    expect(rolloutHints(without(base, "approve", "rest"))).toEqual([
      expect.objectContaining({ node: "rest", message: expect.stringContaining("switches while approval 'approve'") }),
    ]);
    expect(rolloutHints(without(base, "tell_canary", "approve")).map((h) => h.node)).toEqual(["approve", "canary"]);
    const noRest = rolloutHints(without(base, "rest", "rollback"));
    expect(noRest).toEqual([{ node: "rollback", message: expect.stringContaining("a failure of rest would not start it") }]);
    expect(rolloutHints(without(base, "approve", "rollback"))[0].message)
      .toContain("a rejection of approve would not start it: wire approve's bottom handle");
  });

  it("says when a rollback would not run on a failure", () => {
    const d = doc(canary);
    d.nodes = d.nodes.map((n) => (n.id === "rollback" ? { ...n, trigger: undefined } : n));
    expect(rolloutHints(d)).toEqual([{ node: "rollback", message: expect.stringContaining("set its trigger to any_failed") }]);
  });
});
