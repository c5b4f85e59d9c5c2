import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import type { Run, RunNode } from "../types";
import { AuthContext } from "../hooks/useAuth";
import { RunPanel } from "./RunPanel";

vi.mock("../api/client", () => ({
  Api: { log: vi.fn(async (_run: string, node: string) =>
    node === "bad" ? undefined : `12:00:00 log of ${node === "gate" ? "line one" : node}`),
         runDiff: vi.fn(async () => ({
           graph: "g", from: 2, to: 3, same: false, previous_run: "prev-run-99", run: "run-1234567890", name: null,
           nodes: { added: [{ id: "canary", brick: "rollout.switch" }], removed: [], moved: [],
                    changed: [{ id: "web", brick: "test.echo", changes: [
                      { field: "params.password", before: { $secret: "old" }, after: { $secret: "new" } },
                      { field: "retries", before: 0, after: 2 }] }] },
           edges: { added: [], removed: ["a.text -> b.text"] },
           inputs: { added: [], removed: [], changed: [] }, outputs: { added: [], removed: [], changed: [] } })) },
}));

const node = (status: RunNode["status"], extra: Partial<RunNode> = {}): RunNode => ({
  status, attempt: 1, inputs: { text: "in" }, outputs: { token: "******" }, error: null,
  started_at: null, finished_at: null, duration_s: 0.5, host: "local", ...extra,
});

const run: Run = {
  id: "run-1234567890", graph_id: "g", graph_name: "demo", revision: 3, status: "running",
  created_at: "2026-01-01T00:00:00Z", started_at: null, finished_at: null, inputs: {}, outputs: {}, error: null,
  trigger: null,
  nodes: {
    gate: node("waiting", { wait: { reason: "Ship release 42?", timeout_s: null } }),
    bad: node("failed", { error: "disk is full" }),
    web: node("running", {
      items: [
        { id: "web[0]", item: "a", ...node("succeeded", { inputs: { text: "a" }, outputs: { text: "a" }, duration_s: 0.25 }) },
        { id: "web[1]", item: "b", ...node("failed", { error: "b went wrong", attempt: 2 }) },
        { id: "web[2]", item: "c", ...node("running", { duration_s: null }) },
      ],
    }),
    update: {
      ...node("failed", { error: "failed inner nodes: update:check (asked to fail)" }),
      children: [
        { id: "update:prep", ...node("succeeded") },
        { id: "update:check", ...node("failed", { error: "asked to fail", attempt: 2 }) },
        { id: "update:inner", ...node("skipped", { duration_s: null }),
          children: [{ id: "update:inner:e", ...node("pending", { duration_s: null }) }] },
      ],
    } as RunNode,
  },
};

function setup(nodeId: string) {
  const actions = { onCancel: vi.fn(), onRetry: vi.fn(), onDecide: vi.fn(), onOpenRun: vi.fn(), onClose: vi.fn() };
  render(<RunPanel run={run} runs={[run]} nodeId={nodeId} {...actions} />);
  return actions;
}

describe("RunPanel", () => {
  it("approves or rejects a waiting node with a comment (the approver is the signed-in user)", async () => {
    const a = setup("gate");
    expect(screen.getByTestId("run-node-wait").textContent).toBe("Ship release 42?");
    expect(screen.queryByLabelText("Approver name")).toBeNull();
    fireEvent.change(screen.getByLabelText("Approval comment"), { target: { value: "looks good" } });
    fireEvent.click(screen.getByText("Approve"));
    expect(a.onDecide).toHaveBeenCalledWith("gate", "approve", "looks good");
    fireEvent.click(screen.getByText("Reject"));
    expect(a.onDecide).toHaveBeenCalledWith("gate", "reject", "looks good");
    expect(await screen.findByText("12:00:00 log of line one")).toBeTruthy();
  });

  it("shows what the run's revision changed against the previous run, secrets by reference", async () => {
    setup("gate");
    const changes = await screen.findByTestId("run-changes");
    expect(changes.querySelector("summary")!.textContent).toBe("Changes since run prev-run (revision 2 → 3)");
    expect(screen.getByTestId("diff-added").textContent).toBe("+ node canary (rollout.switch)");
    expect(screen.getByTestId("diff-changed").textContent).toContain('params.password: {"$secret":"old"} → {"$secret":"new"}');
    expect(screen.getByTestId("diff-changed").textContent).toContain("retries: 0 → 2");
    expect(changes.textContent).toContain("− wire a.text -> b.text");
  });

  it("disables approving, retrying and cancelling for a viewer, saying which role they need", () => {
    const viewer = { user: "vic", role: "viewer" as const, auth: "required" as const, csrf: "t" };
    const actions = { onCancel: vi.fn(), onRetry: vi.fn(), onDecide: vi.fn(), onOpenRun: vi.fn(), onClose: vi.fn() };
    const { rerender } = render(
      <AuthContext.Provider value={{ me: viewer, signOut: vi.fn(), signIns: 1 }}>
        <RunPanel run={run} runs={[run]} nodeId="gate" {...actions} />
      </AuthContext.Provider>);
    for (const name of ["Approve", "Reject", "Cancel run"]) {
      const b = screen.getByText(name) as HTMLButtonElement;
      expect(b.disabled).toBe(true);
      expect(b.title).toBe("needs the operator role");
    }
    rerender(
      <AuthContext.Provider value={{ me: viewer, signOut: vi.fn(), signIns: 1 }}>
        <RunPanel run={run} runs={[run]} nodeId="bad" {...actions} />
      </AuthContext.Provider>);
    expect((screen.getByText("Retry node") as HTMLButtonElement).disabled).toBe(true);
  });

  it("lists a fan-out node's items and opens one item's inputs, outputs and log", async () => {
    setup("web");
    expect(screen.getByTestId("run-items-progress").textContent).toBe("2/3 done, 1 failed");
    const rows = screen.getAllByTestId("run-item");
    expect(rows.map((r) => r.textContent)).toEqual(["0asucceeded250 ms", "1bfailed ×2500 ms", "2crunning"]);
    expect(screen.getByTestId("run-item-error").textContent).toBe("b went wrong");
    fireEvent.click(rows[0]);
    const detail = screen.getByTestId("run-item-detail");
    expect(detail.textContent).toContain("web[0]");
    expect(detail.textContent).toContain('"text": "a"');
    expect(await screen.findByText("12:00:00 log of web[0]")).toBeTruthy();
    fireEvent.click(screen.getByText("close"));
    expect(screen.queryByTestId("run-item-detail")).toBeNull();
  });

  it("lists a composite node's inner nodes (nested ones too) and retries a failed inner node", async () => {
    const a = setup("update");
    const rows = screen.getAllByTestId("run-child");
    expect(rows.map((r) => r.textContent)).toEqual([
      "update:prepsucceeded500 ms", "update:checkfailed ×2500 ms", "update:innerskipped", "update:inner:epending"]);
    fireEvent.click(rows[1]);
    const detail = screen.getByTestId("run-child-detail");
    expect(screen.getByTestId("run-child-error").textContent).toBe("asked to fail");
    expect(await screen.findByText("12:00:00 log of update:check")).toBeTruthy();
    fireEvent.click(screen.getByText("Retry inner node"));
    expect(a.onRetry).toHaveBeenCalledWith("update:check");
    expect(detail.textContent).toContain("update:check");
    expect(screen.getByTestId("run-node-error").textContent).toBe("failed inner nodes: update:check (asked to fail)");
  });

  it("shows a failed node's error, masked outputs, an empty log, and retries it", async () => {
    const a = setup("bad");
    expect(await screen.findByText("(empty)")).toBeTruthy();
    expect(screen.getByTestId("run-node-error").textContent).toBe("disk is full");
    expect(screen.getByTestId("run-node").textContent).toContain('"token": "******"');
    fireEvent.click(screen.getByText("Retry node"));
    expect(a.onRetry).toHaveBeenCalledWith("bad");
    fireEvent.click(screen.getByText("Cancel run"));
    expect(a.onCancel).toHaveBeenCalled();
  });
});
