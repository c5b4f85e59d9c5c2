import { describe, expect, it } from "vitest";
import { spreadColumns, spreadRows } from "./layout";

const box = (id: string, x: number, y: number, height = 100, width = 200) => ({ id, x, y, width, height });

describe("spreadRows", () => {
  it("leaves a layout without overlaps as it is", () => {
    expect(spreadRows([box("a", 0, 0), box("b", 300, 0), box("c", 0, 200)]).size).toBe(0);
  });

  it("moves overlapping rows down together, keeping rows and columns", () => {
    // a is taller than the 130 px the document left for it: b's row moves, and so does every row below.
    const moved = spreadRows([box("a", 0, 0, 160), box("a2", 300, 0, 50), box("b", 0, 130), box("b2", 300, 130),
                              box("c", 0, 400), box("far", 900, 130)]);
    expect(Object.fromEntries(moved)).toEqual({ b: 184, b2: 184, far: 184, c: 454 });
  });

  it("counts a node as in a column only when it comes near horizontally", () => {
    expect(spreadRows([box("a", 0, 0, 300), box("b", 250, 100)]).size).toBe(0);
    expect(spreadRows([box("a", 0, 0, 300), box("b", 210, 100)]).get("b")).toBe(324);
  });
});

describe("spreadColumns", () => {
  it("leaves nodes that only come near", () => {
    expect(spreadColumns([box("a", 0, 0), box("b", 200, 0), box("c", 0, 100)]).size).toBe(0);
  });

  it("moves a column that overlaps one to its left right, and every column after it", () => {
    // a tall node (the canary switch) reaches down beside a short one laid out above-right of it
    const moved = spreadColumns([box("switch", 600, 100, 500, 300), box("mail", 750, 0, 150), box("tell", 900, 100),
                                 box("below", 750, 700)]);
    expect(Object.fromEntries(moved)).toEqual({ mail: 924, below: 924, tell: 1148 });
  });

  it("clears every node it would land on", () => {
    // clearing a lands it on b, of the same column as a: it goes on past b too
    const moved = spreadColumns([box("a", 0, 0, 100, 300), box("b", 0, 300, 100, 600), box("c", 100, 0, 400)]);
    expect(Object.fromEntries(moved)).toEqual({ c: 624 });
  });
});
