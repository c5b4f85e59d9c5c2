import { describe, expect, it } from "vitest";
import { decorate, ghosts, marks } from "./compare";
import { toFlowNode } from "./graphDoc";
import type { GraphDiff, GraphDoc } from "../types";

const diff: GraphDiff = {
  graph: "g", from: 1, to: 2, same: false, name: null, run: null, previous_run: null,
  nodes: { added: [{ id: "c", brick: "test.echo" }], removed: [{ id: "gone", brick: "test.echo" }], moved: [],
           changed: [{ id: "a", brick: "test.echo", changes: [{ field: "params.text", before: "one", after: "two" }] }] },
  edges: { added: [], removed: [] }, inputs: { added: [], removed: [], changed: [] },
  outputs: { added: [], removed: [], changed: [] },
};
const older = { format: "nebhx/graph@1", name: "g", description: "", inputs: [], outputs: [], meta: {}, edges: [],
  nodes: [{ id: "a", brick: "test.echo", params: {} }, { id: "gone", brick: "test.echo", params: { text: "bye" },
                                                      position: { x: 40, y: 80 } }] } as unknown as GraphDoc;

describe("compare", () => {
  it("marks added and changed nodes and draws removed ones as fixed ghosts where they were", () => {
    expect([...marks(diff)]).toEqual([["c", "added"], ["a", "changed"]]);
    const [ghost] = ghosts(diff, older);
    expect(ghost).toMatchObject({ id: "ghost:gone", position: { x: 40, y: 80 }, className: "nbx-diff-node-removed",
                                  draggable: false, connectable: false, deletable: false, selectable: false });
    const nodes = ["a", "b", "c"].map((id) => toFlowNode({ id, brick: "test.echo", params: {} } as never));
    const shown = decorate(nodes, diff, [ghost]);
    expect(shown.map((n) => [n.id, n.className ?? null])).toEqual([
      ["a", "nbx-diff-node-changed"], ["b", null], ["c", "nbx-diff-node-added"], ["ghost:gone", "nbx-diff-node-removed"]]);
    expect(decorate(nodes, null, [])).toBe(nodes);
  });
});
