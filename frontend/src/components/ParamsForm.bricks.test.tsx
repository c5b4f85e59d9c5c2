// Every brick of the palette: its parameter form renders without "option 1" pickers or
// sideways-scrolling editors, marks required fields, and every field can be filled.
import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, within } from "@testing-library/react";
import { useState } from "react";
import { typeCode } from "../test/codemirror";
import palette from "../test/palette.json";
import type { BrickSpec, Palette } from "../types";
import { fieldKind, formSchema } from "../lib/formSchema";
import ParamsForm from "./ParamsForm";

const bricks = (palette as Palette).bricks as BrickSpec[];
type Obj = Record<string, unknown>;

function Harness({ spec, seen }: { spec: BrickSpec; seen: Obj[] }) {
  const [params, setParams] = useState<Obj>({});
  // What NodePanel does: Secret inputs have their own write-only field, outside the form.
  const [hidden] = useState(() => new Set(spec.inputs.filter((p) => p.type === "Secret").map((p) => p.name)));
  return <ParamsForm spec={spec} params={params} hidden={hidden} readOnly={false}
                     onChange={(p) => { seen.push(p); setParams(p); }} />;
}

/** A value a person would type for a field of this schema, and what the params should then hold. */
function codeSample(prop: Obj): [string, unknown] {
  const items = (prop.items ?? {}) as Obj;
  if (prop.type === "array") {
    return items.type === "object" || items.$ref ? ["- name: a\n  port: 1", [{ name: "a", port: 1 }]] : ["- a\n- b", ["a", "b"]];
  }
  const values = prop.additionalProperties as Obj | undefined;
  if (values && typeof values === "object" && values.type === "object") return ["web:\n  port: 80", { web: { port: 80 } }];
  return ["a: 1\nb: [x]", { a: 1, b: ["x"] }];
}

async function fill(container: HTMLElement, key: string, prop: Obj, root: Obj): Promise<unknown> {
  const kind = fieldKind(prop, root);
  const field = () => container.querySelector(`#root_${key}`) as HTMLElement;
  if (kind === "map") {
    const frame = screen.getByTestId(`field-root_${key}`);
    fireEvent.click(within(frame).getByRole("button", { name: /Add/ }));
    fireEvent.change(within(frame).getByLabelText(/key 1$/), { target: { value: "K" } });
    const number = ["number", "integer"].includes((prop.additionalProperties as Obj).type as string);
    fireEvent.change(within(frame).getByLabelText(/value 1$/), { target: { value: number ? "5" : "v" } });
    return { K: number ? 5 : "v" };
  }
  if (kind === "code") {
    const content = await within(screen.getByTestId(`field-root_${key}`)).findByRole("textbox");
    const [text, value] = codeSample(prop);
    typeCode(content, text);
    return value;
  }
  if (kind === "loose") {
    fireEvent.change(field(), { target: { value: "3" } });
    return 3;
  }
  const el = field();
  expect(el instanceof HTMLSelectElement, `${key} is a select`).toBe(Array.isArray(prop.enum));
  if (el instanceof HTMLSelectElement) {
    const values = prop.enum as unknown[];
    const idx = values.findIndex((v) => v !== prop.default);
    fireEvent.change(el, { target: { value: String(idx) } });
    return values[idx];
  }
  if (prop.type === "boolean") {
    fireEvent.click(el);
    return !(prop.default ?? false);
  }
  if (prop.type === "integer" || prop.type === "number") {
    const n = Math.max(Number(prop.minimum ?? 0), Number(prop.default ?? 0), 1) + 1;
    fireEvent.change(el, { target: { value: String(n) } });
    return n;
  }
  fireEvent.change(el, { target: { value: "typed-value" } });
  return "typed-value";
}

describe.each(bricks.map((b) => [b.id, b] as const))("the form of %s", (_id, spec) => {
  it("has no option pickers, no sideways editors, marks required fields, and every field fills", async () => {
    const seen: Obj[] = [];
    const { container } = render(<Harness spec={spec} seen={seen} />);
    const schema = formSchema(spec.inputs_schema) as Obj;
    const props = (schema.properties ?? {}) as Record<string, Obj>;
    const secret = new Set(spec.inputs.filter((p) => p.type === "Secret").map((p) => p.name));
    const shown = Object.keys(props).filter((k) => !secret.has(k));
    const required = new Set((schema.required ?? []) as string[]);
    await screen.findAllByText(/.|/); // let lazy fields load
    expect(container.textContent).not.toMatch(/option \d/i);
    // rjsf's own editors for maps and lists ("newKey", "Add Item", rows of columns) scroll sideways.
    expect(container.textContent).not.toMatch(/newKey|Add Item/);
    expect(container.querySelector(".form-additional, .array-item, .row > [class*='col-']:not(.col-12)")).toBeNull();
    expect(seen).toEqual([]); // showing a form is not an edit
    for (const k of shown) {
      const label = container.querySelector(`label[for="root_${k}"]`);
      if (props[k].type === "boolean") continue; // a checkbox's label is beside it
      expect(label, `label of ${k}`).not.toBeNull();
      expect(label!.textContent!.endsWith("*"), `${k} marked ${required.has(k) ? "" : "not "}required`)
        .toBe(required.has(k));
    }
    for (const k of shown) {
      const want = await fill(container, k, props[k], schema);
      expect(seen.at(-1)?.[k], `${spec.id}.${k}`).toEqual(want);
    }
  });
});
