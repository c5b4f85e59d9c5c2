import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, within } from "@testing-library/react";
import type { PlanResult } from "../lib/plan";
import { PlanDialog } from "./PlanDialog";

// As POST /api/graphs/plan answers for a canary's switch: the effect's words plus what it changes.
const plan = {
  graph: "canary-update", elapsed_s: 0.05,
  nodes: {
    canary: { brick: "rollout.switch", effect: "1 item", items: [{
      id: "canary[0]", item: "h1", host: "h1", batch: 1, brick: "rollout.switch", changes: true,
      effect: "drain -> snapshot -> switch -> restart -> ready -> checks -> enable of web",
      release: { before: "1.0.0", after: "2.0.0" },
      config: { before: "c1", after: "c2", files: [{ file: "app.json", change: "modified",
                                                      diff: "--- app.json (running)\n+++ app.json (new)\n-\"red\"\n+\"blue\"\n" }] },
      restart: true, balancer: { lb: "h0/web", backend: "web", steps: ["drain", "enable"] },
      snapshot: { volume: "web-data" },
    }] },
    select: { brick: "hosts.select", effect: "would pick 1 host now: h1", changes: false },
  },
} as unknown as PlanResult;

describe("PlanDialog", () => {
  it("shows what the run changes on each host, not only the effect's words", () => {
    render(<PlanDialog plan={plan} loading={false} onHide={() => {}} />);
    const item = screen.getByTestId("plan-item-canary[0]");
    const details = within(item).getByTestId("plan-details");
    expect(details.textContent).toContain("release 1.0.0 → 2.0.0");
    expect(details.textContent).toContain("config c1 → c2 (app.json modified)");
    expect(details.textContent).toContain("restart");
    expect(details.textContent).toContain("balancer h0/web: drain, enable");
    expect(details.textContent).toContain("snapshot of web-data");
    const diff = within(item).getByTestId("plan-diff");
    fireEvent.click(within(diff).getByText("app.json"));
    expect(diff.querySelector("pre")!.textContent).toContain('+"blue"');
    expect(within(screen.getByTestId("plan-node-select")).queryByTestId("plan-details")).toBeNull();
  });
});
