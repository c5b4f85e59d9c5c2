import { describe, expect, it } from "vitest";
import { byBatch, isPlaceholder, nodeVerdict, planBadges, planDetails, type PlanEntry, type PlanResult } from "./plan";

const plan: PlanResult = {
  graph: "canary",
  elapsed_s: 0.01,
  nodes: {
    select: { brick: "hosts.select", effect: "would pick 2 hosts now: web1, web2", changes: false },
    web: { brick: "release.switch", effect: "2 items", batches: 2, items: [
      { id: "web[0]", item: "web1", batch: 1, brick: "release.switch", effect: "switch shop on web1 from 1.0 to 2.0",
        changes: true },
      { id: "web[1]", item: "web2", batch: 2, brick: "release.switch", effect: "2.0 is already current", changes: false },
    ] },
    mail: { brick: "notify.email", effect: "unknown effect", changes: null },
    later: { brick: "release.stage", effect: "runs once per item of (from split.head), not known before the run",
             changes: null },
    bad: { brick: "x.y", effect: "would fail: brick 'x.y' is not in this server's palette", fails: true },
    back: { brick: "rollout.rollback", effect: "nothing: already rolled back", changes: false },
    up: { brick: "composite:update@2", effect: "runs graph 'update' revision 2: 1 inner nodes",
          children: { "up:switch": { brick: "rollout.switch", effect: "switch shop on web1", changes: true } } },
    // The words do not count: only the declared flags do.
    words: { brick: "t.x", effect: "changes nothing, already runs it", changes: true },
    silent: { brick: "t.y", effect: "switch shop" },
  },
};

describe("plan verdicts", () => {
  it("says per node whether a run would change something, nothing, fail, or cannot tell", () => {
    expect(planBadges(plan)).toEqual({ select: "none", web: "change", mail: "unknown", later: "unknown",
                                       bad: "fail", back: "none", up: "change", words: "change", silent: "unknown" });
  });
  it("judges each fan-out item on its own", () => {
    expect(plan.nodes.web.items!.map(nodeVerdict)).toEqual(["change", "none"]);
  });
  it("groups items by batch and knows placeholders", () => {
    expect(byBatch(plan.nodes.web.items!).map(([b, its]) => [b, its.map((i) => i.id)]))
      .toEqual([[1, ["web[0]"]], [2, ["web[1]"]]]);
    expect(isPlaceholder("(from split.head)")).toBe(true);
    expect(isPlaceholder("(input selector)")).toBe(true);
    expect(isPlaceholder("web1")).toBe(false);
  });
});

describe("plan details", () => {
  it("tells release, config with its files, restart, balancer and snapshot as the CLI does", () => {
    const entry = {
      brick: "rollout.switch", effect: "drain -> switch of web", changes: true,
      release: { before: "1.0.0", after: "2.0.0" },
      config: { before: "c1", after: "c2", files: [{ file: "app.json", change: "modified", diff: "-a\n+b\n" }] },
      restart: true, balancer: { lb: "h1/web", backend: "web", steps: ["drain", "enable"] },
      snapshot: { volume: "web-data" },
    } as PlanEntry;
    expect(planDetails(entry)).toEqual({
      lines: ["release 1.0.0 → 2.0.0", "config c1 → c2 (app.json modified)", "restart",
              "balancer h1/web: drain, enable", "snapshot of web-data"],
      files: [{ file: "app.json", change: "modified", diff: "-a\n+b\n" }],
    });
  });
  it("says nothing when nothing moves, and counts backends when the balancer names no steps", () => {
    const same = { brick: "rollout.switch", effect: "nothing", changes: false, release: { before: "1", after: "1" },
                   config: { running: "c1", after: "c1", files: [] }, restart: false, balancer: null } as PlanEntry;
    expect(planDetails(same)).toEqual({ lines: [], files: [] });
    const lb = { brick: "lb.haproxy", effect: "reload", balancer: { lb: "web", before: ["a"], after: ["a", "b"] } } as PlanEntry;
    expect(planDetails(lb).lines).toEqual(["balancer web: 1 → 2 backends"]);
    const first = { brick: "release.switch", effect: "switch", release: { before: null, after: "r1" } } as PlanEntry;
    expect(planDetails(first).lines).toEqual(["release (none) → r1"]);
  });
});
