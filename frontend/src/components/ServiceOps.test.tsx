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
