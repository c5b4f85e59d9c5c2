// Helpers for node params: the form's schema, defaults, references and secrets.
import type { JsonSchema } from "../types";
import { isEmptyValue } from "./formSchema";

export const isRef = (v: unknown): v is { $input: string } | { $secret: string } =>
  typeof v === "object" && v !== null && !Array.isArray(v) && ("$input" in v || "$secret" in v);

export function refLabel(v: { $input?: string; $secret?: string }): string {
  return v.$input !== undefined ? `graph input "${v.$input}"` : `secret "${v.$secret}"`;
}

function resolve(s: Record<string, unknown>, root: JsonSchema): Record<string, unknown> {
  const ref = s.$ref;
  if (typeof ref === "string" && ref.startsWith("#/$defs/")) {
    const defs = (root.$defs ?? {}) as Record<string, Record<string, unknown>>;
    return { ...(defs[ref.slice(8)] ?? {}), ...s };
  }
  return s;
}

export function isSecretSchema(s: Record<string, unknown>, root: JsonSchema): boolean {
  const r = resolve(s, root);
  if (r["x-nebhx-type"] === "Secret" || r.format === "password" || r.writeOnly === true) return true;
  const members = (r.anyOf ?? r.oneOf ?? r.allOf) as Record<string, unknown>[] | undefined;
  return Array.isArray(members) && members.some((m) => isSecretSchema(m, root));
}

/** The inputs schema without the properties that are not set by hand. */
export function paramsSchema(schema: JsonSchema, hidden: Set<string>): JsonSchema {
  const props = (schema.properties ?? {}) as Record<string, unknown>;
  const kept = Object.fromEntries(Object.entries(props).filter(([k]) => !hidden.has(k)));
  const required = ((schema.required ?? []) as string[]).filter((k) => !hidden.has(k));
  const out: JsonSchema = { ...schema, properties: kept, required };
  delete out.title;
  if (!required.length) delete out.required;
  return out;
}

/** Drop values equal to the schema's defaults, and empty ones ("", null, [], {}): params hold only what was set. */
export function pruneDefaults(values: Record<string, unknown>, schema: JsonSchema): Record<string, unknown> {
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    if (isEmptyValue(v)) continue;
    const p = props[k] ? resolve(props[k], schema) : undefined;
    if (p && "default" in p && JSON.stringify(p.default) === JSON.stringify(v)) continue;
    out[k] = v;
  }
  return out;
}

/** The name a secret typed into a node's Secret input is stored under. */
export function secretName(graph: string, node: string, port: string): string {
  const slug = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^_+|_+$/g, "") || "x";
  return `${slug(graph)}.${slug(node)}.${slug(port)}`.slice(0, 200);
}

/** JSON with object keys sorted: equal values, equal text, whatever order keys were set in. */
export function canonJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === "object" && !Array.isArray(x)
    ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : x));
}
