import { describe, expect, it } from "vitest";
import { clearance } from "./placement";

const r = (x: number, y: number, width = 200, height = 100) => ({ x, y, width, height });

describe("clearance", () => {
  it("leaves a clear spot as it is", () => {
    expect(clearance([r(0, 0)], [r(300, 0), r(0, 200)])).toBe(0);
  });
  it("moves a node dropped on another just below it", () => {
    expect(clearance([r(50, 30)], [r(0, 0)])).toBe(94); // 0 + 100 + 24 - 30
  });
  it("goes on below what it then lands on, as a group", () => {
    // a copy put exactly on the original (Add to canvas twice) lands below the original and what is under it
    const copy = [r(0, 0), r(300, 0)];
    expect(clearance(copy, [r(0, 0), r(300, 0), r(300, 124, 200, 300)])).toBe(448);
  });
});
