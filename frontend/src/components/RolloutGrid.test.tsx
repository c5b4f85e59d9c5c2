// The rollout grid at fleet size: 100 hosts, a canary phase and batched rest, two failures.
import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, within } from "@testing-library/react";
import type { Run } from "../types";
import { RolloutGrid } from "./RolloutGrid";

const hosts = Array.from({ length: 100 }, (_, i) => `web${String(i).padStart(3, "0")}`);
const item = (node: string, h: string, i: number, status: string) =>
  ({ id: `${node}[${i}]`, item: { name: h }, status, error: status === "failed" ? "release r2 is not staged" : null });

export function fleetRun(): Run {
  const head = hosts.slice(0, 10), rest = hosts.slice(10);
  const restStatus = (h: string) => (h === "web050" || h === "web077" ? "failed" : h >= "web090" ? "pending" : "succeeded");
  return {
    id: "r1", graph_id: "g", status: "running", nodes: {
      canary: { brick: "release.switch", status: "succeeded", items: head.map((h, i) => item("canary", h, i, "succeeded")) },
      rest: { brick: "release.switch", status: "running", items: rest.map((h, i) => item("rest", h, i, restStatus(h))) },
    },
  } as unknown as Run;
}

describe("rollout grid at 100 hosts", () => {
  it("counts each phase, and filters to the hosts that need a look", () => {
    const t0 = performance.now();
    render(<RolloutGrid run={fleetRun()} />);
    const took = performance.now() - t0;
    expect(screen.getByTestId("grid-shown").textContent).toContain("100 of 100 hosts");
    expect(within(screen.getByTestId("rollout-grid")).getAllByRole("row")).toHaveLength(101);
    expect(screen.getByTestId("grid-count-canary").textContent).toContain("10 succeeded");
    expect(screen.getByTestId("grid-count-rest").textContent).toContain("78 succeeded · 2 failed · 10 pending");
    expect(screen.getByTestId("grid-web050-rest").title).toContain("release r2 is not staged");
    // A cell is an icon named by its status (words in every cell pushed phases out of the panel).
    expect(screen.getByTestId("grid-web050-rest").querySelector(".bi-x-lg")).toBeTruthy();
    expect(screen.getByTestId("grid-web050-rest").textContent).toBe("failed"); // hidden: screen readers'
    expect(screen.getByTestId("grid-legend").textContent).toContain("succeeded");
    expect(screen.getByTestId("grid-legend").textContent).toContain("failed");
    fireEvent.click(screen.getByTestId("grid-only-look"));
    expect(screen.getByTestId("grid-shown").textContent).toContain("12 of 100 hosts");
    expect(screen.getByTestId("grid-host-web077")).toBeTruthy();
    expect(screen.queryByTestId("grid-host-web001")).toBeNull();
    fireEvent.change(screen.getByTestId("grid-filter"), { target: { value: "web05" } });
    expect(screen.getByTestId("grid-shown").textContent).toContain("1 of 100 hosts");
    console.log(`rollout grid: 100 hosts x 2 phases rendered in ${took.toFixed(0)} ms (jsdom)`);
  });
});
