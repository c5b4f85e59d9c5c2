import { describe, expect, it } from "vitest";
import { rolloutGrid, stepsText } from "./releases";
import type { Run, RunItem } from "../types";

const item = (id: string, host: string, status: string, outputs: Record<string, unknown> = {}) =>
  ({ id, item: host, status, attempt: 1, inputs: {}, outputs, error: null, started_at: null, finished_at: null,
     duration_s: null, host: "local" }) as RunItem;
const node = (status: string, items?: RunItem[], brick = "rollout.switch") =>
  ({ status, attempt: 1, inputs: {}, outputs: {}, error: null, started_at: null, finished_at: null,
     duration_s: null, host: null, brick, items }) as never;

const run = {
  id: "r1", graph_id: "g", graph_name: "canary", revision: 1, status: "running", created_at: "", started_at: null,
  finished_at: null, inputs: {}, outputs: null, error: null,
  nodes: {
    select: node("succeeded", undefined, "hosts.select"),
    prepare: node("succeeded", [item("prepare[0]", "web2", "succeeded"), item("prepare[1]", "web1", "succeeded")]),
    canary: node("running", [item("canary[0]", "web1", "running",
                                   { steps: [{ step: "drain", seconds: 0.5 }, { step: "switch", seconds: 0.01 }] })]),
    names: node("succeeded", [item("names[0]", "a", "succeeded")], "core.template"),
  },
} as unknown as Run;

describe("rollout grid", () => {
  it("has the fan-out hosts as rows and the nodes fanning out over hosts as columns", () => {
    const g = rolloutGrid(run, (n) => n.brick !== "core.template")!;
    expect(g.hosts).toEqual(["web1", "web2"]);
    expect(g.phases).toEqual(["prepare", "canary"]);
    expect(g.cell("web1", "canary")?.status).toBe("running");
    expect(g.cell("web2", "canary")).toBeUndefined();
    expect(stepsText(g.cell("web1", "canary"))).toBe("drain 0.50s, switch 0.01s");
  });
  it("is absent when nothing fans out over hosts", () => {
    expect(rolloutGrid({ ...run, nodes: { select: run.nodes.select } })).toBeNull();
  });
});
