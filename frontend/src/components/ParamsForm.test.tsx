import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import palette from "../test/palette.json";
import type { BrickSpec, Palette } from "../types";
import ParamsForm from "./ParamsForm";

const share = (palette as Palette).bricks.find((b) => b.id === "core.share_settings") as BrickSpec;

describe("ParamsForm", () => {
  it("never shows a stored secret, keeps it on other edits and replaces it when typed", () => {
    const onChange = vi.fn();
    const params = { login: "bob", password: "s3cret" };
    const hidden = new Set(["share"]);
    const { container, rerender } = render(
      <ParamsForm spec={share} params={params} hidden={hidden} readOnly={false} onChange={onChange} />);
    const pw = container.querySelector("#root_password") as HTMLInputElement;
    expect(pw.type).toBe("password");
    expect(pw.value).toBe("");
    expect(pw.placeholder).toBe("stored - type to replace");
    expect(container.innerHTML).not.toContain("s3cret");
    expect(container.querySelector("#root_share")).toBeNull();
    expect((container.querySelector("#root_options") as HTMLInputElement).value).toBe("vers=3.0");

    fireEvent.change(screen.getByDisplayValue("bob"), { target: { value: "alice" } });
    expect(onChange).toHaveBeenLastCalledWith({ login: "alice", password: "s3cret" });
    fireEvent.change(pw, { target: { value: "n3w" } });
    expect(onChange).toHaveBeenLastCalledWith({ login: "alice", password: "n3w" });
    // What was typed stays while typing goes on (the new params come back as props).
    rerender(<ParamsForm spec={share} params={{ login: "alice", password: "n3w" }} hidden={hidden}
                         readOnly={false} onChange={onChange} />);
    expect((container.querySelector("#root_password") as HTMLInputElement).value).toBe("n3w");
  });

  it("disables every field when read-only", () => {
    const { container } = render(
      <ParamsForm spec={share} params={{}} hidden={new Set()} readOnly onChange={() => {}} />);
    const inputs = [...container.querySelectorAll("input")];
    expect(inputs.length).toBeGreaterThan(3);
    expect(inputs.every((i) => i.disabled)).toBe(true);
  });
});
