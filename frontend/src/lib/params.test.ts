import { describe, expect, it } from "vitest";
import palette from "../test/palette.json";
import type { Palette } from "../types";
import { isRef, isSecretSchema, paramsSchema, pruneDefaults, secretName } from "./params";
import { readInputs } from "../components/RunDialog";

const share = (palette as Palette).bricks.find((b) => b.id === "core.share_settings")!;

describe("params", () => {
  it("hides wired inputs from the form, and from required", () => {
    const s = paramsSchema(share.inputs_schema, new Set(["address"]));
    expect(Object.keys(s.properties as object)).not.toContain("address");
    expect(s.required).not.toContain("address");
  });
  it("knows secret fields", () => {
    const props = share.inputs_schema.properties as Record<string, Record<string, unknown>>;
    expect(isSecretSchema(props.password, share.inputs_schema)).toBe(true);
    expect(isSecretSchema(props.login, share.inputs_schema)).toBe(false);
  });
  it("keeps only values that differ from the defaults", () => {
    const schema = { properties: { a: { type: "string", default: "x" }, b: { type: "string" } }, required: [] };
    expect(pruneDefaults({ a: "x", b: "" }, schema)).toEqual({});
    expect(pruneDefaults({ a: "y", b: "z" }, schema)).toEqual({ a: "y", b: "z" });
  });
  it("names stored secrets after the graph, node and port", () => {
    expect(secretName("My deploy!", "share_1", "password")).toBe("My_deploy.share_1.password");
  });
  it("recognises references", () => {
    expect(isRef({ $input: "who" })).toBe(true);
    expect(isRef({ $secret: "pw" })).toBe(true);
    expect(isRef({ text: 1 })).toBe(false);
  });
  it("reads run inputs by type", () => {
    const gi = (name: string, type: string, required = true) => ({ name, type, required, default: null, description: "" });
    expect(readInputs([gi("n", "integer"), gi("o", "object"), gi("s", "string", false)], { n: "3", o: '{"a":1}', s: "" }))
      .toEqual({ values: { n: 3, o: { a: 1 } } });
    expect(readInputs([gi("n", "integer")], { n: "" }).error).toBe("n is required");
    expect(readInputs([gi("n", "integer")], { n: "1.5" }).error).toBe("n must be a integer");
  });
});
