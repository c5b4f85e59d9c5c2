// The text of a code field (YAML or JSON, which is YAML too) <-> its value.
import { parse, stringify, YAMLParseError } from "yaml";

export type Expect = "list" | "map" | "any";
export interface Parsed {
  /** undefined: empty text (not set), or an error. */
  value?: unknown;
  error?: string;
  /** Where the error is, as offsets in the text. */
  from?: number;
  to?: number;
}

/** The text a value is shown as: nothing for no value, else YAML. */
export function showCode(value: unknown): string {
  if (value === undefined || value === null) return "";
  return stringify(value, { indent: 2, lineWidth: 0 });
}

const kindOf = (v: unknown) => (Array.isArray(v) ? "a list" : v === null ? "nothing" : typeof v === "object" ? "a map"
  : `a ${typeof v}`);

export function parseCode(text: string, expect: Expect): Parsed {
  if (!text.trim()) return {};
  let value: unknown;
  try {
    value = parse(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const [from, to] = e.pos;
      return { error: e.message.split("\n")[0], from, to: Math.max(to, from + 1) };
    }
    return { error: (e as Error).message, from: 0, to: text.length };
  }
  if (expect === "list" && !Array.isArray(value)) {
    return { error: `must be a list (one "- item" a line, or [a, b]), not ${kindOf(value)}`, from: 0, to: text.length };
  }
  if (expect === "map" && (typeof value !== "object" || value === null || Array.isArray(value))) {
    return { error: `must be a map (key: value lines, or {"key": value}), not ${kindOf(value)}`, from: 0, to: text.length };
  }
  return { value };
}
