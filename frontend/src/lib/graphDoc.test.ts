import { describe, expect, it } from "vitest";
import type { GraphDoc } from "../types";
import { docJson, emptyMeta, freshId, isNodeId, NODE_ID_PATTERN, parseGraph, pasteFragment, selectionDoc, toDoc, toFlow } from "./graphDoc";

const doc: GraphDoc = {
  format: "nebhx/graph@1",
  name: "demo",
  description: "two nodes",
  inputs: [
    { name: "who", type: "string", required: true, default: null, description: "" },
    { name: "hosts", type: "HostRef[]", required: false, default: ["a", "b"], description: "where to run" },
  ],
  outputs: [{ name: "out", from: { node: "echo_1", port: "text" } }],
  nodes: [
    { id: "noop_1", brick: "test.noop", params: {}, position: { x: 0, y: 0 } },
    { id: "echo_1", brick: "test.echo", params: { text: { $input: "who" } }, position: { x: 300, y: 10 },
      label: "Echo", trigger: "all_done", retries: 2 },
    { id: "tpl", brick: "core.template", params: { template: "hi" }, position: { x: 600, y: 0 }, timeout_s: 5 },
    { id: "each", brick: "test.echo", params: { text: ["a", "b"] }, position: { x: 0, y: 300 }, for_each: "text" },
  ],
  edges: [
    { from: { node: "noop_1", port: "value" }, to: { node: "tpl", port: "values" } },
    { from: { node: "noop_1" }, to: { node: "echo_1" } },
  ],
  meta: { note: 1 },
};

const roundTrip = (d: GraphDoc) => {
  const { doc: parsed, errors } = parseGraph(docJson(d));
  expect(errors).toEqual([]);
  const { nodes, edges } = toFlow(parsed!);
  const { nodes: _n, edges: _e, ...meta } = parsed!;
  return docJson(toDoc(meta, nodes, edges));
};

describe("graph document", () => {
  it("export then import gives the same JSON", () => {
    const first = roundTrip(doc);
    expect(first).toBe(docJson(doc));
    expect(roundTrip(JSON.parse(first))).toBe(first);
  });

  it("keeps control edges as order-only edges", () => {
    const { edges } = toFlow(doc);
    expect(edges[1].className).toBe("nbx-control");
    expect(toDoc(emptyMeta(), [], edges).edges[1]).toEqual({ from: { node: "noop_1" }, to: { node: "echo_1" } });
  });

  it("reports what is wrong with a bad import", () => {
    expect(parseGraph("{not json").errors[0]).toMatch(/not JSON/);
    expect(parseGraph("[]").errors).toEqual(["the document must be a JSON object"]);
    const bad = { ...doc, nodes: [doc.nodes[0], doc.nodes[0]], edges: [{ from: { node: "x", port: "a" }, to: { node: "noop_1" } }] };
    const { errors, doc: parsed } = parseGraph(JSON.stringify(bad));
    expect(parsed).toBeUndefined();
    expect(errors).toContain('nodes[1].id "noop_1" is used twice');
    expect(errors).toContain('edges[0].from.node "x" is not a node');
    expect(errors).toContain("edges[0] must name both ports (data) or neither (order)");
    expect(parseGraph(JSON.stringify({ ...doc, format: "x" })).errors[0]).toMatch(/format/);
  });

  it("exports only the selection and the edges inside it", () => {
    const { nodes, edges } = toFlow(doc);
    nodes[0].selected = true;
    nodes[2].selected = true;
    const { nodes: _n, edges: _e, ...meta } = doc;
    const sel = selectionDoc(meta, nodes, edges);
    expect(sel.nodes.map((n) => n.id)).toEqual(["noop_1", "tpl"]);
    expect(sel.edges).toHaveLength(1);
    expect(sel.outputs).toEqual([]);
  });

  it("pastes with fresh ids and rewired edges", () => {
    const frag = pasteFragment(doc, new Set(["noop_1", "tpl"]));
    expect(frag.nodes.map((n) => n.id)).toEqual(["noop_2", "echo_1", "template_1", "each"]);
    expect(frag.edges.map((e) => e.id)).toEqual(["noop_2.value->template_1.values", "noop_2->echo_1"]);
    expect(frag.nodes[0].position).toEqual({ x: 40, y: 40 });
  });

  it("makes fresh ids from the brick's short name", () => {
    expect(freshId("core.template", new Set(["template_1"]))).toBe("template_2");
  });
});

describe("node ids", () => {
  it("follow the server's rule, read from its graph schema", async () => {
    const { readFileSync } = await import("node:fs");
    const { resolve } = await import("node:path");
    const file = resolve(__dirname, "../../../backend/nebhx/graphs/graph.schema.json");
    const schema = JSON.parse(readFileSync(file, "utf-8"));
    expect(NODE_ID_PATTERN).toBe(schema.$defs.Node.properties.id.pattern);
  });
  it("refuses on import what the server refuses", () => {
    for (const bad of ["web[0]", "a]", "[x", "has space", "$x", "@x", "", "x".repeat(129)]) {
      expect(isNodeId(bad)).toBe(false);
      const text = JSON.stringify({ format: "nebhx/graph@1", name: "g", nodes: [{ id: bad, brick: "test.noop" }] });
      expect(parseGraph(text).errors[0]).toContain("is not a valid id");
    }
    for (const good of ["web", "web-1.a", "x$y@z", "x".repeat(128), "é"]) expect(isNodeId(good)).toBe(true);
  });
});
