// Code fields (YAML/JSON) whose text does not parse: the node keeps its last valid value, so the
// graph itself looks valid to the server. These are the editor's own problems: counted and listed
// with the server's, and Save and Run refuse while any is left.
import type { Problem } from "../types";
import { createMapStore } from "./overlay";

export interface FieldError {
  message: string;
  /** The text as typed, shown again when the node's form opens again. */
  text: string;
}

/** By node id, then by field (its path in the params, `/`-joined). */
export const fieldErrorStore = createMapStore<Record<string, FieldError>>();

export function setFieldError(node: string, field: string, error: FieldError | null): void {
  const all = fieldErrorStore.get();
  const mine = { ...all[node] };
  if (error) mine[field] = error;
  else if (!(field in mine)) return;
  else delete mine[field];
  const next = { ...all };
  if (Object.keys(mine).length) next[node] = mine;
  else delete next[node];
  fieldErrorStore.set(next);
}

export const fieldErrorOf = (node: string, field: string) => fieldErrorStore.get()[node]?.[field];

/** The field errors of the nodes still on the canvas, as problems. */
export function fieldProblems(errors: Record<string, Record<string, FieldError>>, nodes: Set<string>): Problem[] {
  return Object.entries(errors).filter(([node]) => nodes.has(node)).flatMap(([node, fields]) =>
    Object.entries(fields).map(([field, e]) => ({ node, port: field, code: "field_text",
      message: `${field} is not valid as typed (${e.message}): the node still holds its last valid value`,
      path: "" })));
}
