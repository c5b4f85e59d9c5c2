import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import palette from "../test/palette.json";
import type { Palette } from "../types";
import { BrickHelp, Markdown } from "./Markdown";

describe("brick help", () => {
  it("is rendered as Markdown, not shown raw", () => {
    const docs = (palette as Palette).bricks.find((b) => b.id === "config.render")!.docs!;
    const { container } = render(<BrickHelp docs={docs} />);
    expect(container.textContent).not.toContain("`");
    expect(container.querySelector("code")!.textContent).toBe("profiles");
    fireEvent.click(screen.getByText("More"));
    expect(container.querySelector("pre")!.textContent).toContain('"parents": ["linux"]');
  });
  it("drops what could run script", () => {
    const { container } = render(<Markdown text={'**bold** <img src=x onerror="alert(1)"><script>alert(2)</script>'} />);
    expect(container.querySelector("strong")!.textContent).toBe("bold");
    expect(container.innerHTML).not.toMatch(/onerror|<script/);
  });
});
