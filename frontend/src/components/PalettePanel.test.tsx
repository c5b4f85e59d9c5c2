import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import palette from "../test/palette.json";
import { categoryTitle, groupBricks, indexPalette, PaletteContext } from "../lib/palette";
import type { Palette } from "../types";
import { PalettePanel } from "./PalettePanel";
import { BRICK_MIME } from "./Canvas";

describe("palette", () => {
  it("groups by category and searches ids, titles and docs", () => {
    const bricks = (palette as Palette).bricks;
    const titles = groupBricks(bricks, "").map(([c]) => categoryTitle(c));
    expect(titles).toContain("Core glue");
    expect(titles).toEqual([...titles].sort((a, b) => a.localeCompare(b)));
    expect(groupBricks(bricks, "load balancer").map(([c]) => c)).toContain("lb");
    expect(groupBricks(bricks, "mount options")[0][1].map((b) => b.id)).toEqual(["core.share_settings"]);
    expect(groupBricks(bricks, "zzz")).toEqual([]);
  });

  it("titles categories from the table, and title-cases unknown ones", () => {
    expect(categoryTitle("lb")).toBe("Load balancer");
    expect(categoryTitle("core")).toBe("Core glue");
    expect(categoryTitle("data_sync")).toBe("Data Sync");
    render(
      <PaletteContext.Provider value={indexPalette(palette as Palette)}>
        <PalettePanel onReload={() => {}} loading={false} readOnly={false} />
      </PaletteContext.Provider>,
    );
    expect(screen.getByRole("button", { name: /^Load balancer/ })).toBeTruthy();
    expect(screen.queryByRole("button", { name: /^Lb\b/i })).toBeNull();
    // Every category of the palette has a title of its own (none falls back to its short name).
    for (const [c] of groupBricks((palette as Palette).bricks, "")) expect(categoryTitle(c)).not.toBe(c);
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
