import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, within } from "@testing-library/react";
import { useState } from "react";
import { typeCode } from "../test/codemirror";
import palette from "../test/palette.json";
import type { BrickSpec, Palette } from "../types";
import ParamsForm from "./ParamsForm";

const brick = (id: string) => (palette as Palette).bricks.find((b) => b.id === id) as BrickSpec;
const share = brick("core.share_settings");

function Editing({ id, seen, start = {} }: { id: string; seen: Record<string, unknown>[]; start?: Record<string, unknown> }) {
  const [params, setParams] = useState(start);
  const [hidden] = useState(() => new Set<string>());
  return <ParamsForm spec={brick(id)} params={params} hidden={hidden} readOnly={false}
                     onChange={(p) => { seen.push(p); setParams(p); }} />;
}

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

  it("read-only, maps and code editors cannot be changed either", async () => {
    const params = { env: { A: "1" }, checks: [{ url: "/health" }] };
    const { container } = render(
      <ParamsForm spec={brick("rollout.switch")} params={params} hidden={new Set()} readOnly onChange={() => {}} />);
    const code = await within(screen.getByTestId("field-root_checks")).findByRole("textbox");
    expect(code.getAttribute("contenteditable")).toBe("false");
    expect(screen.getByRole("button", { name: "+ Add env entry" })).toHaveProperty("disabled", true);
    expect(screen.getByLabelText("Env key 1")).toHaveProperty("disabled", true);
    expect(container.querySelectorAll("input:not(:disabled), select:not(:disabled)")).toHaveLength(0);
  });

  it("an optional field is a plain input: empty is not set", () => {
    const seen: Record<string, unknown>[] = [];
    const { container } = render(<Editing id="service.run" seen={seen} start={{ command: "run" }} />);
    const port = container.querySelector("#root_port") as HTMLInputElement;
    expect(port.type).toBe("number");
    expect(container.querySelector("label[for=root_port]")!.textContent).toBe("Port");
    expect(container.querySelector("label[for=root_command]")!.textContent).toBe("Command*");
    fireEvent.change(port, { target: { value: "8080" } });
    expect(seen.at(-1)).toEqual({ command: "run", port: 8080 });
    fireEvent.change(port, { target: { value: "" } });
    expect(seen.at(-1)).toEqual({ command: "run" });
  });

  it("shows field help as Markdown", async () => {
    const { container } = render(<Editing id="config.render" seen={[]} />);
    await within(screen.getByTestId("field-root_profiles")).findByRole("textbox");
    expect(container.textContent).not.toContain("`");
    expect([...container.querySelectorAll("code")].map((c) => c.textContent)).toEqual(
      expect.arrayContaining(["hosts", "clusters"]));
  });

  it("edits a map as key/value rows", () => {
    const seen: Record<string, unknown>[] = [];
    render(<Editing id="service.run" seen={seen} start={{ env: { A: "1" } }} />);
    const env = screen.getByTestId("field-root_env");
    expect((within(env).getByLabelText("Env key 1") as HTMLInputElement).value).toBe("A");
    fireEvent.click(within(env).getByRole("button", { name: "+ Add env entry" }));
    fireEvent.change(within(env).getByLabelText("Env key 2"), { target: { value: "B" } });
    fireEvent.change(within(env).getByLabelText("Env value 2"), { target: { value: "two" } });
    expect(seen.at(-1)).toEqual({ env: { A: "1", B: "two" } });
    fireEvent.change(within(env).getByLabelText("Env key 2"), { target: { value: "A" } });
    expect(env.textContent).toContain("key A is used twice");
    fireEvent.click(within(env).getByRole("button", { name: "Remove Env entry 2" }));
    fireEvent.click(within(env).getByRole("button", { name: "Remove Env entry 1" }));
    expect(seen.at(-1)).toEqual({});
  });

  it("edits a list as YAML or JSON, with the error under the field as one types", async () => {
    const seen: Record<string, unknown>[] = [];
    render(<Editing id="lb.haproxy" seen={seen} start={{ backends: ["10.0.0.1:80"] }} />);
    const field = screen.getByTestId("field-root_backends");
    const code = await within(field).findByRole("textbox", { name: "Backends" });
    expect(code.textContent).toBe("- 10.0.0.1:80");
    typeCode(code, '["a:1", "b:2"]');
    expect(seen.at(-1)).toEqual({ backends: ["a:1", "b:2"] });
    typeCode(code, "[a:1, ");
    expect(field.querySelector(".invalid-feedback")!.textContent).toMatch(/keeps its last valid value/);
    expect(seen.at(-1)).toEqual({ backends: ["a:1", "b:2"] });
    typeCode(code, "x: 1");
    expect(field.textContent).toContain("must be a list");
    typeCode(code, "- c:3");
    expect(field.querySelector(".invalid-feedback")).toBeNull();
    expect(seen.at(-1)).toEqual({ backends: ["c:3"] });
  });
});
