import { describe, expect, it } from "vitest";
import palette from "../test/palette.json";
import type { Palette } from "../types";
import { collapseNullable, fieldKind, formSchema } from "./formSchema";
import { parseCode, showCode } from "./codeValue";

const brick = (id: string) => (palette as Palette).bricks.find((b) => b.id === id)!;
const props = (id: string) => formSchema(brick(id).inputs_schema).properties as Record<string, Record<string, unknown>>;

describe("form schema", () => {
  it("makes an optional field (anyOf [X, null]) the plain X, without the null default", () => {
    const port = props("service.run").port;
    expect(port).toEqual({ type: "integer", minimum: 1, maximum: 65535, title: "Port",
                           description: expect.any(String) });
    expect(collapseNullable({ type: ["string", "null"], default: null })).toEqual({ type: "string" });
    expect(collapseNullable({ anyOf: [{ type: "integer" }, { type: "string" }], default: 1 }))
      .toEqual({ anyOf: [{ type: "integer" }, { type: "string" }], default: 1 });
  });
  it("edits maps as tables, free objects and lists as code, unions of scalars as one input", () => {
    expect(fieldKind(props("service.run").env, {})).toBe("map");
    expect(fieldKind(props("config.render").profiles, {})).toBe("code");
    expect(fieldKind(props("config.profiles").names, {})).toBe("code");
    expect(fieldKind(props("core.merge").base, {})).toBe("code");
    expect(fieldKind(props("core.split").first, {})).toBe("loose");
    expect(fieldKind(props("lb.backend_state").state, {})).toBe("plain");
    expect(fieldKind(props("rollout.rollback").lb_name, {})).toBe("plain");
  });
  it("reads code as YAML or JSON, and says what is wrong", () => {
    expect(parseCode("- a\n- b", "list")).toEqual({ value: ["a", "b"] });
    expect(parseCode('["a", "b"]', "list")).toEqual({ value: ["a", "b"] });
    expect(parseCode("", "list")).toEqual({});
    expect(parseCode("a: 1", "list").error).toMatch(/must be a list/);
    expect(parseCode("a: [1", "map").error).toBeTruthy();
    expect(parseCode("a: 1\na: 2", "map").error).toMatch(/unique/i);
    expect(showCode({ web: { port: 80 } })).toBe("web:\n  port: 80\n");
  });
});
