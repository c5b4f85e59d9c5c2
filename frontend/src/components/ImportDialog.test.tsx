import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { ImportDialog } from "./ImportDialog";

describe("ImportDialog", () => {
  it("shows what is wrong and imports nothing", () => {
    const onImport = vi.fn();
    render(<ImportDialog show onHide={() => {}} onImport={onImport} />);
    fireEvent.change(screen.getByTestId("import-text"), { target: { value: '{"format": "x"}' } });
    fireEvent.click(screen.getByTestId("import-replace"));
    expect(screen.getByTestId("import-errors").textContent).toContain('format must be "nebhx/graph@1"');
    expect(onImport).not.toHaveBeenCalled();
  });

  it("imports a valid document", () => {
    const onImport = vi.fn();
    render(<ImportDialog show onHide={() => {}} onImport={onImport} />);
    const doc = { format: "nebhx/graph@1", name: "g", nodes: [{ id: "a", brick: "test.noop" }], edges: [] };
    fireEvent.change(screen.getByTestId("import-text"), { target: { value: JSON.stringify(doc) } });
    fireEvent.click(screen.getByText("Add to canvas"));
    expect(onImport).toHaveBeenCalledWith(expect.objectContaining({ name: "g", description: "", meta: {} }), "add");
  });
});
