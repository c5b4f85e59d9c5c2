import { describe, expect, it } from "vitest";
import { withIncludes } from "./includes";
import type { GraphDoc } from "../types";

const doc = (name: string, bricks: string[]) => ({
  format: "nebhx/graph@1", name, description: "", inputs: [], outputs: [], meta: {}, edges: [],
  nodes: bricks.map((brick, i) => ({ id: `n${i}`, brick, params: {}, position: { x: 0, y: 0 } })),
}) as GraphDoc;

describe("withIncludes", () => {
  it("adds every composite used, nested ones too, as the server exports them", async () => {
    const stored: Record<string, object> = {
      "a-1@2": { ...doc("a", ["composite:b-2@1"]), includes: { "b-2@1": doc("b", ["test.echo"]) } },
      "b-2@1": doc("b", ["test.echo"]),
    };
    const asked: string[] = [];
    const out = await withIncludes(doc("top", ["test.echo", "composite:a-1@2", "composite:a-1@2"]), async (g, r) => {
      asked.push(`${g}@${r}`);
      return structuredClone(stored[`${g}@${r}`]) as never;
    });
    expect(Object.keys(out.includes!)).toEqual(["a-1@2", "b-2@1"]);
    expect(out.includes!["a-1@2"]).toEqual(doc("a", ["composite:b-2@1"])); // without its own includes
    expect(asked).toEqual(["a-1@2"]);
  });

  it("leaves a graph without composites as it is", async () => {
    const d = doc("plain", ["test.echo"]);
    expect(await withIncludes(d, async () => { throw new Error("not asked"); })).toBe(d);
  });
});
