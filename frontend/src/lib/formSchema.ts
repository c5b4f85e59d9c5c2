// The schema and uiSchema a node's parameter form is built from, made from the brick's inputs
// schema so that every field is something a person can fill: an optional field is a plain input
// (empty = not set), a map a key/value table, a free object or a list a code editor.
import type { UiSchema } from "@rjsf/utils";
import type { JsonSchema } from "../types";

type S = Record<string, unknown>;
export type FieldKind = "plain" | "map" | "code" | "loose";

const isObj = (v: unknown): v is S => typeof v === "object" && v !== null && !Array.isArray(v);
const SIMPLE = new Set(["string", "number", "integer", "boolean"]);
const isNull = (m: unknown) => isObj(m) && m.type === "null";

/** `anyOf [X, null]` (pydantic's Optional[X]) as X, and `type: [X, "null"]` as X; a null default dropped. */
export function collapseNullable(s: S): S {
  let out: S = s;
  const key = Array.isArray(s.anyOf) ? "anyOf" : Array.isArray(s.oneOf) ? "oneOf" : null;
  if (key) {
    const members = s[key] as unknown[];
    const rest = members.filter((m) => !isNull(m));
    if (rest.length < members.length) {
      const { [key]: _members, ...outer } = s;
      out = rest.length === 1 && isObj(rest[0]) ? { ...rest[0], ...outer } : { ...outer, [key]: rest };
    }
  }
  if (Array.isArray(out.type)) {
    const types = (out.type as string[]).filter((t) => t !== "null");
    out = { ...out, type: types.length === 1 ? types[0] : types };
  }
  if (out !== s && out.default === null) {
    const { default: _d, ...rest } = out;
    out = rest;
  }
  return out;
}

/** The same schema, every optional (nullable) part collapsed, down through properties, items and $defs. */
export function formSchema(schema: JsonSchema): JsonSchema {
  const walk = (s: unknown): unknown => {
    if (Array.isArray(s)) return s.map(walk);
    if (!isObj(s)) return s;
    const c = collapseNullable(s);
    const out: S = { ...c };
    for (const k of ["properties", "$defs", "patternProperties"]) {
      if (isObj(c[k])) out[k] = Object.fromEntries(Object.entries(c[k] as S).map(([n, v]) => [n, walk(v)]));
    }
    for (const k of ["items", "additionalProperties", "anyOf", "oneOf", "allOf"]) {
      if (c[k] !== undefined && typeof c[k] !== "boolean") out[k] = walk(c[k]);
    }
    return out;
  };
  return walk(schema) as JsonSchema;
}

/** A `$ref` into the root's `$defs`, resolved (the reference's own keys win). */
export function resolveRef(s: S, root: JsonSchema): S {
  const ref = s.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/$defs/")) return s;
  const defs = (root.$defs ?? {}) as Record<string, S>;
  const { $ref: _r, ...own } = s;
  return { ...(defs[ref.slice(8)] ?? {}), ...own };
}

const typesOf = (s: S): string[] => (Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === "string" ? [s.type] : []);

/** How a (collapsed) property is edited. */
export function fieldKind(prop: S, root: JsonSchema): FieldKind {
  const s = resolveRef(prop, root);
  if (Array.isArray(s.enum) || s.const !== undefined) return "plain";
  const members = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (Array.isArray(members)) {
    const simple = members.every((m) => isObj(m) && typesOf(m).length === 1 && SIMPLE.has(typesOf(m)[0]) && !m.enum);
    return simple ? "loose" : "code";
  }
  const types = typesOf(s);
  if (types.length > 1) return types.every((t) => SIMPLE.has(t)) ? "loose" : "code";
  const type = types[0] ?? (isObj(s.properties) ? "object" : undefined);
  if (type === "array") return "code";
  if (type === "object") {
    if (isObj(s.properties) && Object.keys(s.properties).length) return "plain";
    const values = s.additionalProperties;
    if (isObj(values) && typesOf(values).length === 1 && SIMPLE.has(typesOf(values)[0]) && !values.enum) return "map";
    return "code";
  }
  return type && SIMPLE.has(type) ? "plain" : "code";
}

export const FIELD_OF: Record<Exclude<FieldKind, "plain">, string> = { map: "nbxMap", code: "nbxCode", loose: "nbxLoose" };

/** A string whose default is too long for one line of the side panel (a query, a template):
 * a wrapping text area, so the whole value is seen and the form never scrolls sideways. */
export const LONG_DEFAULT = 40;
const longText = (s: S) => typesOf(s)[0] === "string" && !s.enum && !s.format
  && typeof s.default === "string" && s.default.length > LONG_DEFAULT;

/** ui:field for every property that is not a plain input; a text area for a long string default. */
export function fieldsUi(schema: JsonSchema): UiSchema {
  const ui: UiSchema = {};
  for (const [k, p] of Object.entries((schema.properties ?? {}) as Record<string, S>)) {
    const kind = fieldKind(p, schema);
    if (kind !== "plain") ui[k] = { "ui:field": FIELD_OF[kind], "ui:fieldReplacesAnyOrOneOf": true };
    else if (longText(resolveRef(p, schema))) ui[k] = { "ui:widget": "textarea", "ui:options": { rows: 3 } };
  }
  return ui;
}

/** What counts as not set: nothing, null, "", an empty list or map. */
export const isEmptyValue = (v: unknown) =>
  v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length) || (isObj(v) && !Object.keys(v).length);
