import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import type { Run, RunNode } from "../types";
import { RunPanel } from "./RunPanel";

vi.mock("../api/client", () => ({ Api: { log: vi.fn(async () => "12:00:00 line one") } }));

const node = (status: RunNode["status"], extra: Partial<RunNode> = {}): RunNode => ({
  status, attempt: 1, inputs: { text: "in" }, outputs: { token: "******" }, error: null,
  started_at: null, finished_at: null, duration_s: 0.5, host: "local", ...extra,
});

const run: Run = {
  id: "run-1234567890", graph_id: "g", graph_name: "demo", revision: 3, status: "running",
  created_at: "2026-01-01T00:00:00Z", started_at: null, finished_at: null, inputs: {}, outputs: null, error: null,
  nodes: { gate: node("waiting"), bad: node("failed", { error: "disk is full" }) },
};

function setup(nodeId: string) {
  const actions = { onCancel: vi.fn(), onRetry: vi.fn(), onDecide: vi.fn(), onOpenRun: vi.fn(), onClose: vi.fn() };
  render(<RunPanel run={run} runs={[run]} nodeId={nodeId} {...actions} />);
  return actions;
}

describe("RunPanel", () => {
  it("approves or rejects a waiting node with a comment", async () => {
    const a = setup("gate");
    fireEvent.change(screen.getByLabelText("Approval comment"), { target: { value: "looks good" } });
    fireEvent.click(screen.getByText("Approve"));
    expect(a.onDecide).toHaveBeenCalledWith("gate", "approve", "looks good");
    fireEvent.click(screen.getByText("Reject"));
    expect(a.onDecide).toHaveBeenCalledWith("gate", "reject", "looks good");
    expect(await screen.findByText("12:00:00 line one")).toBeTruthy();
  });

  it("shows a failed node's error, masked outputs, and retries it", () => {
    const a = setup("bad");
    expect(screen.getByTestId("run-node-error").textContent).toBe("disk is full");
    expect(screen.getByTestId("run-node").textContent).toContain('"token": "******"');
    fireEvent.click(screen.getByText("Retry node"));
    expect(a.onRetry).toHaveBeenCalledWith("bad");
    fireEvent.click(screen.getByText("Cancel run"));
    expect(a.onCancel).toHaveBeenCalled();
  });
});
