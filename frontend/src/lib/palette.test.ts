import { describe, expect, it } from "vitest";
import palette from "../test/palette.json";
import type { Palette } from "../types";
import { indexPalette, nextPalette } from "./palette";

describe("nextPalette", () => {
  it("keeps the palette shown when the one fetched says the same, so no node is drawn again", () => {
    const shown = indexPalette(palette as Palette);
    expect(nextPalette(shown, structuredClone(palette) as Palette)).toBe(shown);
  });

  it("takes the one fetched when a brick changed", () => {
    const shown = indexPalette(palette as Palette);
    const fetched = structuredClone(palette) as Palette;
    fetched.bricks[0].title = "Renamed";
    const next = nextPalette(shown, fetched);
    expect(next).not.toBe(shown);
    expect(next.byId.get(fetched.bricks[0].id)?.title).toBe("Renamed");
  });
});
