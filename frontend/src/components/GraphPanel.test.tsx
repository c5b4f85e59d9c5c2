import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import palette from "../test/palette.json";
import { emptyMeta, type GraphMeta } from "../lib/graphDoc";
import { indexPalette, PaletteContext } from "../lib/palette";
import type { Palette } from "../types";
import { GraphPanel, parseDefault } from "./GraphPanel";

let latest: GraphMeta = emptyMeta();

function Harness() {
  const [meta, setMeta] = useState<GraphMeta>(emptyMeta("g"));
  latest = meta;
  return (
    <PaletteContext.Provider value={indexPalette(palette as Palette)}>
      <GraphPanel meta={meta} setMeta={setMeta} readOnly={false}
                  nodes={[{ id: "noop_1", brick: "test.noop" }, { id: "echo_1", brick: "test.echo", label: "Echo" }]} />
    </PaletteContext.Provider>
  );
}

describe("GraphPanel", () => {
  it("adds, edits and removes graph inputs with a typed default", () => {
    render(<Harness />);
    fireEvent.click(screen.getByText("Add input"));
    fireEvent.change(screen.getByLabelText("Input name"), { target: { value: "replicas" } });
    fireEvent.change(screen.getByLabelText("Input type"), { target: { value: "integer" } });
    fireEvent.change(screen.getByLabelText("Input default"), { target: { value: "2.5" } });
    expect(screen.getByText("not an integer")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Input default"), { target: { value: "3" } });
    fireEvent.click(screen.getByLabelText("Required"));
    fireEvent.change(screen.getByLabelText("Input description"), { target: { value: "how many" } });
    expect(latest.inputs).toEqual([{ name: "replicas", type: "integer", required: false, default: 3, description: "how many" }]);
    // The type list has the palette's port types too.
    const types = [...(screen.getByLabelText("Input type") as HTMLSelectElement).options].map((o) => o.value);
    expect(types).toEqual(expect.arrayContaining(["string", "Secret", "Address", "string[]"]));
    fireEvent.click(screen.getByLabelText("Remove input"));
    expect(latest.inputs).toEqual([]);
  });

  it("adds graph outputs from a node's output port, and removes them", () => {
    render(<Harness />);
    fireEvent.click(screen.getByText("Add output"));
    expect(latest.outputs).toEqual([{ name: "output_1", from: { node: "noop_1", port: "value" } }]);
    fireEvent.change(screen.getByLabelText("Output node"), { target: { value: "echo_1" } });
    fireEvent.change(screen.getByLabelText("Output name"), { target: { value: "said" } });
    expect(latest.outputs).toEqual([{ name: "said", from: { node: "echo_1", port: "text" } }]);
    expect(screen.getByText("Echo (echo_1)")).toBeTruthy();
    fireEvent.click(screen.getByLabelText("Remove output"));
    expect(latest.outputs).toEqual([]);
  });

  it("reads defaults by type", () => {
    expect(parseDefault("string", "")).toEqual({ value: null });
    expect(parseDefault("string", " hi ")).toEqual({ value: " hi " });
    expect(parseDefault("number", "1.5")).toEqual({ value: 1.5 });
    expect(parseDefault("string[]", '["a"]')).toEqual({ value: ["a"] });
    expect(parseDefault("string[]", '{"a": 1}').error).toBe("must be a JSON list");
    expect(parseDefault("object", "{").error).toBe("not JSON");
  });
});
