import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { act } from "react";
import { batchProblem, batchValue, ExecutionSettings, numberProblem } from "./ExecutionSettings";
import { problemStore } from "../lib/overlay";
import type { BrickSpec } from "../types";

const spec = { id: "test.echo", title: "Echo", category: "test", inputs_schema: {}, outputs_schema: {}, outputs: [],
  inputs: [{ name: "text", direction: "in", type: "string", required: true }] } as BrickSpec;

function show(extra: Record<string, unknown>, forEach?: string) {
  const setExtra = vi.fn();
  render(<ExecutionSettings nodeId="n1" spec={spec} extra={extra} forEach={forEach} readOnly={false}
                            setExtra={setExtra} setForEach={vi.fn()} />);
  return setExtra;
}

describe("batch settings", () => {
  it("checks batch and the numbers as the server does", () => {
    expect(batchProblem("10%")).toBeNull();
    expect(batchProblem("3")).toBeNull();
    expect(batchProblem("0")).toMatch(/at least 1/);
    expect(batchProblem("0%")).toMatch(/percentage over 0%/);
    expect(batchProblem("150%")).toMatch(/up to 100%/);
    expect(batchValue("3")).toBe(3);
    expect(batchValue("25%")).toBe("25%");
    expect(numberProblem("max_parallel", 0)).toBe("max_parallel must be at least 1");
    expect(numberProblem("max_failures", 0)).toBeNull();
    expect(numberProblem("pause_s", 1e9)).toMatch(/at most/);
  });
  it("are shown only when the node fans out", () => {
    show({});
    expect(screen.queryByTestId("batch-settings")).toBeNull();
  });
  it("store what is typed and show what is wrong, the server's problems too", () => {
    const setExtra = show({ for_each: "text", max_parallel: 0 }, "text");
    expect(screen.getByTestId("batch-settings")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Batch size (count or %)"), { target: { value: "10%" } });
    expect(setExtra).toHaveBeenCalledWith("batch", "10%");
    fireEvent.change(screen.getByLabelText("Batch size (count or %)"), { target: { value: "0%" } });
    expect(screen.getAllByTestId("setting-problem").map((e) => e.textContent).join(" ")).toMatch(/percentage over 0%/);
    expect(screen.getAllByTestId("setting-problem").map((e) => e.textContent).join(" ")).toMatch(/max_parallel must be at least 1/);
    act(() => problemStore.set({ n1: [{ node: "n1", port: null, code: "schema", path: "/nodes/0/pause_s",
                                        message: "/nodes/0/pause_s: Input should be less than or equal to 604800" }] }));
    expect(screen.getByText("Input should be less than or equal to 604800")).toBeTruthy();
    act(() => problemStore.set({}));
  });
});
