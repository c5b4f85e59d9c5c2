import { describe, expect, it } from "vitest";
import type { Edge } from "@xyflow/react";
import type { BrickSpec, GraphDoc } from "../types";
import { emptyMeta, toDoc, toFlow, type BrickNode, type GraphMeta } from "./graphDoc";
import { extractSelection, type Extraction } from "./extract";

const spec = (id: string, inputs: [string, string][], outputs: [string, string][]): BrickSpec => ({
  id, title: id, category: "test", inputs_schema: {}, outputs_schema: {},
  inputs: inputs.map(([name, type]) => ({ name, type, direction: "in" as const, required: true })),
  outputs: outputs.map(([name, type]) => ({ name, type, direction: "out" as const, required: true })),
});
const BRICKS = new Map([
  ["t.src", spec("t.src", [], [["text", "string"], ["hosts", "HostRef[]"]])],
  ["t.upper", spec("t.upper", [["text", "string"], ["host", "HostRef"]], [["text", "string"]])],
  ["t.sink", spec("t.sink", [["text", "string"]], [["done", "boolean"]])],
]);
const brickOf = (id: string) => BRICKS.get(id);

// src -> a -> b -> sink, src.hosts -> b.host (b fans out over it), a -> sink (order), and a
// graph input and output: a and b are made a composite.
const DOC: GraphDoc = {
  ...emptyMeta("outer"),
  inputs: [{ name: "greeting", type: "string", required: false, default: "hi", description: "Said first" }],
  outputs: [{ name: "final", from: { node: "b", port: "text" } }],
  nodes: [
    { id: "src", brick: "t.src", params: {}, position: { x: 0, y: 0 } },
    { id: "a", brick: "t.upper", params: { prefix: { $input: "greeting" } }, position: { x: 300, y: 40 } },
    { id: "b", brick: "t.upper", params: {}, position: { x: 600, y: 20 }, for_each: "host" },
    { id: "sink", brick: "t.sink", params: {}, position: { x: 900, y: 0 } },
  ],
  edges: [
    { from: { node: "src", port: "text" }, to: { node: "a", port: "text" } },
    { from: { node: "a", port: "text" }, to: { node: "b", port: "text" } },
    { from: { node: "src", port: "hosts" }, to: { node: "b", port: "host" } },
    { from: { node: "b", port: "text" }, to: { node: "sink", port: "text" } },
    { from: { node: "a" }, to: { node: "sink" } },
  ],
};

function setup(selected: string[]): { meta: GraphMeta; nodes: BrickNode[]; edges: Edge[] } {
  const { nodes, edges } = toFlow(DOC);
  const { nodes: _n, edges: _e, ...meta } = DOC;
  return { meta, nodes: nodes.map((n) => ({ ...n, selected: selected.includes(n.id) })), edges };
}

function extract(selected: string[], name = "Upper twice"): Extraction {
  const { meta, nodes, edges } = setup(selected);
  const out = extractSelection(meta, nodes, edges, name, brickOf);
  if (typeof out === "string") throw new Error(out);
  return out;
}

describe("extractSelection", () => {
  it("makes wires entering the selection graph inputs, typed from the ports", () => {
    const { doc } = extract(["a", "b"]);
    expect(doc.name).toBe("Upper twice");
    expect(doc.inputs.map((i) => [i.name, i.type, i.required])).toEqual([
      ["greeting", "string", false], ["text", "string", true], ["host", "HostRef[]", true]]);
    expect(doc.nodes.map((n) => [n.id, n.params])).toEqual([
      ["a", { prefix: { $input: "greeting" }, text: { $input: "text" } }],
      ["b", { host: { $input: "host" } }]]);
    expect(doc.nodes[1].for_each).toBe("host");
    expect(doc.edges).toEqual([{ from: { node: "a", port: "text" }, to: { node: "b", port: "text" } }]);
  });

  it("makes wires leaving it (and graph outputs read from it) graph outputs", () => {
    const { doc } = extract(["a", "b"]);
    expect(doc.outputs).toEqual([{ name: "text", from: { node: "b", port: "text" } }]);
  });

  it("replaces the selection with one composite node wired the same way", () => {
    const { nodes, edges, meta } = extract(["a", "b"]).replace("composite:g-1@1");
    const node = nodes.find((n) => n.data.brick === "composite:g-1@1")!;
    expect(node).toMatchObject({ id: "Upper_twice", position: { x: 300, y: 20 }, selected: true,
                                 data: { label: "Upper twice", params: { greeting: { $input: "greeting" } } } });
    expect(nodes.map((n) => n.id)).toEqual(["src", "sink", "Upper_twice"]);
    const doc = toDoc(meta, nodes, edges);
    expect(doc.edges).toEqual([
      { from: { node: "src", port: "text" }, to: { node: "Upper_twice", port: "text" } },
      { from: { node: "src", port: "hosts" }, to: { node: "Upper_twice", port: "host" } },
      { from: { node: "Upper_twice", port: "text" }, to: { node: "sink", port: "text" } },
      { from: { node: "Upper_twice" }, to: { node: "sink" } },
    ]);
    expect(doc.outputs).toEqual([{ name: "final", from: { node: "Upper_twice", port: "text" } }]);
    expect(nodes.filter((n) => n.selected).map((n) => n.id)).toEqual(["Upper_twice"]);
  });

  it("keeps the graph outputs a selection that reaches the end feeds", () => {
    const { doc, replace } = extract(["a", "b", "sink"]);
    expect(doc.inputs.map((i) => i.name)).toEqual(["greeting", "text", "host"]);
    expect(doc.outputs).toEqual([{ name: "text", from: { node: "b", port: "text" } }]);
    expect(replace("composite:x@2").edges).toHaveLength(2);
  });

  it("shares one input between the inner ports one outer output feeds", () => {
    const { meta, nodes, edges } = setup(["a", "b"]);
    const both = [...edges.filter((e) => e.target !== "b" || e.targetHandle !== "text"),
                  { id: "x", source: "src", sourceHandle: "text", target: "b", targetHandle: "text" }];
    const out = extractSelection(meta, nodes, both, "two", brickOf) as Extraction;
    expect(out.doc.inputs.map((i) => i.name)).toEqual(["greeting", "text", "host"]);
    expect(out.doc.nodes.map((n) => n.params.text)).toEqual([{ $input: "text" }, { $input: "text" }]);
    expect(out.doc.edges).toEqual([]);
  });

  it("refuses an empty selection or name", () => {
    const { meta, nodes, edges } = setup([]);
    expect(extractSelection(meta, nodes, edges, "x", brickOf)).toBe("Select the nodes to make a composite of first");
    const picked = setup(["a"]);
    expect(extractSelection(picked.meta, picked.nodes, picked.edges, "  ", brickOf)).toBe("Give the composite a name");
  });

  it("picks a node id not taken by any node of the graph", () => {
    expect(extract(["a"], "src").replace("composite:g@1").nodes.map((n) => n.id)).toEqual(["src", "b", "sink", "src_2"]);
    expect(extract(["a"], "a").replace("composite:g@1").nodes.map((n) => n.id)).toEqual(["src", "b", "sink", "a_2"]);
  });

  it("names outputs apart when two inner nodes' ports of one name leave the selection", () => {
    const { meta, nodes, edges } = setup(["a", "b"]);
    const out = extractSelection(meta, nodes, [...edges, { id: "y", source: "a", sourceHandle: "text", target: "sink",
                                                           targetHandle: "other" }], "two", brickOf) as Extraction;
    expect(out.doc.outputs.map((o) => [o.name, o.from.node])).toEqual([["text", "b"], ["text_2", "a"]]);
    const replaced = out.replace("composite:t@1");
    expect(toDoc(meta, replaced.nodes, replaced.edges).edges).toContainEqual({ from: { node: "two", port: "text_2" }, to: { node: "sink", port: "other" } });
  });
});
