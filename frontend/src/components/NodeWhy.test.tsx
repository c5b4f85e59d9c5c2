import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { ReactFlowProvider } from "@xyflow/react";
import palette from "../test/palette.json";
import { indexPalette, PaletteContext } from "../lib/palette";
import type { Palette, Run } from "../types";
import type { BrickNode } from "../lib/graphDoc";
import { NodePanel } from "./NodePanel";

const api = vi.hoisted(() => ({
  why: vi.fn(async (host: string, service: string, instance?: string | null) => ({
    host, service, instance: instance ?? null, seen_at: null, missing: null,
    process: { pid: 4242, state: "RUNNING", since: null }, release: { id: "2.0.0", source: "/srv/app", sha256: "ab".repeat(32) },
    config: { version: "c0ffee" }, data: { volume: null }, approvals: [],
    switched_by: { id: "run22222222", node: "switch", brick: "rollout.switch", graph: "g1", graph_name: "web",
                   revision: 4, started_by: "olga", finished_at: null, trigger: null },
    before: { release: "1.0.0", pid: null, switched_by: null },
  })),
}));
vi.mock("../api/client", () => ({ Api: api }));

type RunNode = Run["nodes"][string];
const meta = { name: "web", description: "", inputs: [], outputs: [] };
const node = (brick: string, params: Record<string, unknown>): BrickNode =>
  ({ id: "deploy", type: "brick", position: { x: 0, y: 0 }, data: { brick, params, extra: {} } }) as BrickNode;
const ran = (host: string, status: string) => ({ status, attempt: 1, host, inputs: { host, service: "web", instance: "a" },
  outputs: {}, error: null, started_at: null, finished_at: null, duration_s: 1 });

function show(n: BrickNode, run?: RunNode) {
  return render(
    <PaletteContext.Provider value={indexPalette(palette as Palette)}>
      <ReactFlowProvider><NodePanel node={n} edges={[]} meta={meta as never} readOnly ran={run} /></ReactFlowProvider>
    </PaletteContext.Provider>,
  );
}

describe("Why does this run? from a node", () => {
  it("a fan-out switch: one per host it deployed to in the run shown, the same chain as the Releases panel", async () => {
    const fanout = { ...ran("h1", "succeeded"), host: null, items: [
      { ...ran("h1", "succeeded"), id: "deploy[0]", item: "h1" }, { ...ran("h2", "failed"), id: "deploy[1]", item: "h2" }] };
    show(node("rollout.switch", { host: { $input: "hosts" }, service: "web" }), fanout as unknown as RunNode);
    expect(screen.getByTestId("node-why").textContent).toContain("web / a on h1");
    expect(screen.queryByTestId("node-why-h2")).toBeNull();  // its switch failed: nothing deployed there
    fireEvent.click(screen.getByTestId("node-why-h1"));
    expect(screen.getByTestId("node-why-h1").textContent).toBe("Hide why");
    expect((await screen.findByTestId("why-run")).textContent).toBe("run run22222 (switch) of web revision 4, started by olga");
    expect(api.why).toHaveBeenCalledWith("h1", "web", "a");
  });

  it("service.run with its host and service set on it, before any run is shown", () => {
    show(node("service.run", { host: "local", service: "api", command: "x" }));
    expect(screen.getByTestId("node-why-local").textContent).toBe("Why does this run?");
    expect(screen.getByTestId("node-why").textContent).toContain("api on local");
  });

  it("not on a node that deploys nothing, nor where the host is not known yet", () => {
    show(node("core.share_settings", { host: "local", service: "web" }));
    expect(screen.queryByTestId("node-why")).toBeNull();
    show(node("release.switch", { host: { $input: "host" }, service: "web" }));
    expect(screen.queryByTestId("node-why")).toBeNull();
  });
});
