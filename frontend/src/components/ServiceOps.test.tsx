import { afterEach, describe, expect, it, vi } from "vitest";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { LOG_POLL_MS, ServiceOps } from "./ServiceOps";
import type { ReleaseRow } from "../lib/releases";

const row = {
  host: "h1", service: "web", instance: null, host_state: "up", seen_at: null, program: "web", active: "r2",
  previous: "r1", prepared: null, config_version: null, state: "RUNNING", pid: 42, runtime: null, image: null,
  phase: null, error: null, health: { ok: true, error: null, at: null }, liveness: null,
  releases: [{ id: "r1", staged_at: 1, pinned: false }, { id: "r2", staged_at: 2, active: true, pinned: true }],
} as unknown as ReleaseRow;

const plan = { graph: "nebhx-rollback", nodes: { rollback: { brick: "rollout.rollback", effect: "1 item",
  items: [{ id: "rollback[0]", item: "h1", host: "h1", brick: "rollout.rollback", effect: "roll back web to r1" }] } } };
const api = vi.hoisted(() => ({
  planRollback: vi.fn(), rollback: vi.fn(), pinRelease: vi.fn(), serviceHistory: vi.fn(), serviceLog: vi.fn(),
}));
vi.mock("../api/client", () => ({ Api: api }));

function setup() {
  api.planRollback.mockResolvedValue(plan);
  api.rollback.mockResolvedValue({ id: "run42" });
  api.pinRelease.mockImplementation(async (b: { release: string; pinned: boolean }) => ({ release: b.release, pinned: b.pinned }));
  api.serviceHistory.mockResolvedValue([{ at: "2026-12-07T14:00:00+00:00", from: "r1", to: "r2", brick: "rollout.switch",
    run: { id: "run7", node: "switch", brick: "rollout.switch", graph_name: "deploy", revision: 3, started_by: "ann" } }]);
  api.serviceLog.mockResolvedValueOnce({ host: "h1", service: "web", program: "web",
    streams: { out: { text: "started, password ******\n", offset: 30, skipped: 0 }, err: { text: "", offset: 0, skipped: 0 } } })
    .mockResolvedValue({ host: "h1", service: "web", program: "web",
      streams: { out: { text: "GET /x\n", offset: 37, skipped: 0 }, err: { text: "", offset: 0, skipped: 0 } } });
}

afterEach(() => { vi.useRealTimers(); vi.clearAllMocks(); });

describe("ServiceOps", () => {
  it("plans the rollback first, shows the plan, runs it only when asked, and opens the run", async () => {
    setup();
    const opened = vi.fn();
    render(<ServiceOps r={row} onOpenRun={opened} />);
    fireEvent.click(screen.getByTestId("rollback-plan"));
    expect(screen.getByTestId("rollback-plan").textContent).toContain("Roll back to r1");
    await screen.findByText("roll back web to r1");
    expect(api.planRollback).toHaveBeenCalledWith({ host: "h1", service: "web" });
    expect(api.rollback).not.toHaveBeenCalled();
    fireEvent.click(screen.getByTestId("plan-action"));
    const started = await screen.findByTestId("rollback-started");
    expect(api.rollback).toHaveBeenCalledWith({ host: "h1", service: "web" });
    fireEvent.click(started.querySelector("button")!);
    expect(opened).toHaveBeenCalledWith("run42");
  });

  it("pins and unpins a release on its host, and shows the deploy history", async () => {
    setup();
    render(<ServiceOps r={row} />);
    expect(screen.getByTestId("pin-r2").textContent).toBe("Unpin");
    fireEvent.click(screen.getByTestId("pin-r1"));
    await waitFor(() => expect(screen.getByTestId("pin-r1").textContent).toBe("Unpin"));
    expect(api.pinRelease).toHaveBeenCalledWith({ host: "h1", service: "web", release: "r1", pinned: true });
    const history = await screen.findByTestId("release-history");
    expect(history.textContent).toContain("run7");
    expect(history.textContent).toContain("deploy r3 by ann");
  });

  it("offers each earlier release still staged in the history: plan for that release, then run it", async () => {
    setup();
    const sw = (from: string | null, to: string, id: string) => ({ at: "2026-12-07T14:00:00+00:00", from, to, brick: "rollout.switch",
      run: { id, node: "switch", brick: "rollout.switch", graph_name: "deploy", revision: 3, started_by: "ann" } });
    // Newest first: r2 runs now; r1 and r0 (pinned) are still staged; rx was removed by retention.
    api.serviceHistory.mockResolvedValue([sw("r1", "r2", "run9"), sw("r0", "r1", "run8"), sw("rx", "r0", "run7"),
      sw(null, "rx", "run6"), sw("r0", "r1", "run5")]);
    const staged = { ...row, releases: [{ id: "r0", staged_at: 0, pinned: true }, ...row.releases] } as ReleaseRow;
    render(<ServiceOps r={staged} />);
    await screen.findByTestId("release-history");
    expect(screen.queryByTestId("rollback-to-r2")).toBeNull();  // what runs now
    expect(screen.queryByTestId("rollback-to-rx")).toBeNull();  // no longer on the host
    expect(screen.getAllByTestId("rollback-to-r1")).toHaveLength(1);  // offered once, on its newest switch
    fireEvent.click(screen.getByTestId("rollback-to-r0"));
    await screen.findByText("roll back web to r1");  // (the mocked plan)
    expect(api.planRollback).toHaveBeenCalledWith({ host: "h1", service: "web", release: "r0" });
    expect(api.rollback).not.toHaveBeenCalled();
    expect(screen.getByTestId("plan-action").textContent).toContain("Run the rollback to r0 on h1");
    fireEvent.click(screen.getByTestId("plan-action"));
    await screen.findByTestId("rollback-started");
    expect(api.rollback).toHaveBeenCalledWith({ host: "h1", service: "web", release: "r0" });
  });

  it("shows why a rollback to a release is refused", async () => {
    setup();
    api.planRollback.mockRejectedValue(new Error("release 'r1' of 'web' is not staged on host h1 (removed by retention)"));
    render(<ServiceOps r={row} />);
    await screen.findByTestId("release-history");
    fireEvent.click(screen.getByTestId("rollback-plan"));
    expect((await screen.findByRole("alert")).textContent).toContain("not staged on host h1");
  });

  it("follows the log: the tail first, then only what came since the offsets", async () => {
    setup();
    vi.useFakeTimers({ shouldAdvanceTime: true });
    render(<ServiceOps r={row} />);
    fireEvent.click(screen.getByTestId("service-log-toggle"));
    await waitFor(() => expect(screen.getByTestId("service-log").textContent).toContain("password ******"));
    await act(async () => { vi.advanceTimersByTime(LOG_POLL_MS); });
    await waitFor(() => expect(screen.getByTestId("service-log").textContent).toContain("GET /x"));
    expect(api.serviceLog).toHaveBeenNthCalledWith(1, "h1", "web", null, {});
    expect(api.serviceLog).toHaveBeenNthCalledWith(2, "h1", "web", null, { out: 30, err: 0 });
  });
});
