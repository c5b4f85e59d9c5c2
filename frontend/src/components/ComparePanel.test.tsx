import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import type { GraphDiff } from "../types";
import { ComparePanel } from "./ComparePanel";

const diff = {
  graph: "g", from: 1, to: 3, same: false, name: null, run: null, previous_run: null,
  nodes: { added: [{ id: "c", brick: "test.echo" }], removed: [], moved: [],
           changed: [{ id: "a", brick: "test.echo", changes: [{ field: "params.text", before: "one", after: "two" },
                                                           { field: "trigger", before: "all_success", after: "all_done" }] }] },
  edges: { added: [], removed: [] }, inputs: { added: [], removed: [], changed: [] },
  outputs: { added: [], removed: [], changed: [] },
} as GraphDiff;

describe("ComparePanel", () => {
  it("compares with the chosen revision and shows the selected node's parameter diff", () => {
    const start = vi.fn(async () => undefined);
    const compare = { diff: null, start, stop: vi.fn(), shown: [] };
    const { rerender } = render(<ComparePanel compare={compare} revision={3} latest={3} selected="a" />);
    fireEvent.change(screen.getByLabelText("Compare with revision"), { target: { value: "1" } });
    fireEvent.click(screen.getByText("Compare"));
    expect(start).toHaveBeenCalledWith(1);
    rerender(<ComparePanel compare={{ ...compare, diff }} revision={3} latest={3} selected="a" />);
    expect(screen.getByTestId("compare-node").textContent).toBe(
      'Node aparams.text: "one" → "two"trigger: "all_success" → "all_done"');
    rerender(<ComparePanel compare={{ ...compare, diff }} revision={3} latest={3} selected="c" />);
    expect(screen.getByTestId("compare-node").textContent).toBe("Node cadded in this revision");
    expect(screen.getByTestId("diff-added").textContent).toBe("+ node c (test.echo)");
  });

  it("asks for a saved graph first", () => {
    render(<ComparePanel compare={{ diff: null, start: vi.fn(), stop: vi.fn(), shown: [] }} revision={null}
                         latest={null} selected={null} />);
    expect(screen.getByText("Save the graph to compare its revisions.")).toBeTruthy();
  });
});
