import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import palette from "../test/palette.json";
import { groupBricks, indexPalette, PaletteContext } from "../lib/palette";
import type { Palette } from "../types";
import { PalettePanel } from "./PalettePanel";
import { BRICK_MIME } from "./Canvas";

describe("palette", () => {
  it("groups by category and searches ids, titles and docs", () => {
    const bricks = (palette as Palette).bricks;
    expect(groupBricks(bricks, "").map(([c]) => c)).toEqual(["core", "test"]);
    expect(groupBricks(bricks, "mount options")[0][1].map((b) => b.id)).toEqual(["core.share_settings"]);
    expect(groupBricks(bricks, "zzz")).toEqual([]);
  });

  it("filters as one types and puts the brick id on drag", () => {
    const onReload = vi.fn();
    render(
      <PaletteContext.Provider value={indexPalette(palette as Palette)}>
        <PalettePanel onReload={onReload} loading={false} readOnly={false} />
      </PaletteContext.Provider>,
    );
    expect(screen.getByTestId("brick-test.echo")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Search bricks"), { target: { value: "echo" } });
    expect(screen.queryByTestId("brick-core.merge")).toBeNull();
    const data = new Map<string, string>();
    fireEvent.dragStart(screen.getByTestId("brick-test.echo"),
      { dataTransfer: { setData: (k: string, v: string) => data.set(k, v), effectAllowed: "" } });
    expect(data.get(BRICK_MIME)).toBe("test.echo");
    fireEvent.click(screen.getByLabelText("Reload palette"));
    expect(onReload).toHaveBeenCalled();
  });
});
