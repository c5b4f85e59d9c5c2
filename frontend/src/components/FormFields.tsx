// The parameter form's own fields (rjsf custom fields): a map as a key/value table, a value of
// several scalar types as one text input, a free object or list in a code editor (lazy).
import { lazy, Suspense, useEffect, useRef, useState, type ReactNode } from "react";
import { Button, Form, Spinner } from "react-bootstrap";
import type { FieldProps } from "@rjsf/utils";
import { Markdown } from "./Markdown";
import { fieldErrorOf, setFieldError } from "../lib/fieldErrors";
import { retryImport } from "../lib/retryImport";

const CodeEditor = lazy(retryImport(() => import("./CodeEditor")));

type Obj = Record<string, unknown>;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
/** A field's description and a hint, as sentences. */
const sentences = (first: string | undefined, then: string) =>
  [first && !/[.!?:)]$/.test(first) ? `${first}.` : first, then].filter(Boolean).join(" ");

/** Label (marked when required), the field, its help and its errors. */
export function FieldFrame({ id, label, required, description, errors, children }: {
  id: string; label: string; required?: boolean; description?: string; errors?: string[]; children: ReactNode;
}) {
  return (
    <Form.Group className="mb-3 nbx-field" data-testid={`field-${id}`}>
      <Form.Label htmlFor={id} className={errors?.length ? "text-danger" : ""}>
        {label}{required ? "*" : null}
      </Form.Label>
      {children}
      {description && <Form.Text as="div" className="text-muted"><Markdown text={description} /></Form.Text>}
      {errors?.map((e, i) => <div key={i} className="invalid-feedback d-block">{e}</div>)}
    </Form.Group>
  );
}

const frameProps = (p: FieldProps) => ({
  id: p.fieldPathId.$id,
  label: (p.schema.title as string | undefined) ?? p.name,
  required: p.required,
  description: p.schema.description as string | undefined,
  errors: p.rawErrors,
});

/**
 * Calls `onChange` with what was edited here, and resets the local state (`fromValue`) only
 * when the value changes from outside (undo, another node): typing is never overwritten.
 */
function useOwnValue<T>(value: unknown, fromValue: (v: unknown) => T) {
  const [state, setState] = useState<T>(() => fromValue(value));
  const sent = useRef(value);
  useEffect(() => {
    if (same(value, sent.current)) return;
    sent.current = value;
    setState(fromValue(value));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  return { state, setState, sent };
}

type Row = { key: string; value: string };
const rowsOf = (v: unknown): Row[] =>
  Object.entries((v ?? {}) as Obj).map(([key, value]) => ({ key, value: value === undefined ? "" : String(value) }));

function typed(text: string, type: string): unknown {
  if (type === "boolean") return text === "true";
  if ((type === "number" || type === "integer") && text.trim() !== "" && !Number.isNaN(Number(text))) return Number(text);
  return text;
}

/** One key/value row of a map. */
function MapRow({ row, n, label, type, off, onEdit, onRemove }: {
  row: Row; n: number; label: string; type: string; off: boolean; onEdit: (patch: Partial<Row>) => void; onRemove: () => void;
}) {
  return (
    <tr>
      <td><Form.Control size="sm" value={row.key} disabled={off} aria-label={`${label} key ${n}`}
                        onChange={(e) => onEdit({ key: e.target.value })} /></td>
      <td>{type === "boolean"
        ? <Form.Check checked={row.value === "true"} disabled={off} aria-label={`${label} value ${n}`}
                      onChange={(e) => onEdit({ value: String(e.target.checked) })} />
        : <Form.Control size="sm" value={row.value} disabled={off} aria-label={`${label} value ${n}`}
                        type={type === "string" ? "text" : "number"} onChange={(e) => onEdit({ value: e.target.value })} />}</td>
      <td><Button size="sm" variant="outline-secondary" disabled={off} aria-label={`Remove ${label} entry ${n}`}
                  onClick={onRemove}>×</Button></td>
    </tr>
  );
}

/** A map of simple values: a table of key/value rows; empty = not set. */
export function MapField(p: FieldProps) {
  const type = ((p.schema.additionalProperties as Obj | undefined)?.type as string | undefined) ?? "string";
  const { state: rows, setState: setRows, sent } = useOwnValue<Row[]>(p.formData, rowsOf);
  const frame = frameProps(p);
  const off = !!(p.disabled || p.readonly);
  const keys = rows.map((r) => r.key.trim()).filter(Boolean);
  const twice = keys.filter((k, i) => keys.indexOf(k) !== i);
  const emit = (next: Row[]) => {
    setRows(next);
    const obj: Obj = {};
    for (const r of next) if (r.key.trim()) obj[r.key.trim()] = typed(r.value, type);
    const value = Object.keys(obj).length ? obj : undefined;
    sent.current = value;
    p.onChange(value, p.fieldPathId.path);
  };
  return (
    <FieldFrame {...frame} errors={[...(twice.length ? [`key ${twice[0]} is used twice`] : []), ...(frame.errors ?? [])]}>
      <table className="nbx-map" id={frame.id}>
        {rows.length > 0 && <thead><tr><th>key</th><th>value</th><th aria-hidden /></tr></thead>}
        <tbody>
          {rows.map((r, i) => (
            <MapRow key={i} row={r} n={i + 1} label={frame.label} type={type} off={off}
                    onEdit={(patch) => emit(rows.map((x, j) => (j === i ? { ...x, ...patch } : x)))}
                    onRemove={() => emit(rows.filter((_, j) => j !== i))} />
          ))}
        </tbody>
      </table>
      <Button size="sm" variant="outline-primary" className="mt-1" disabled={off}
              onClick={() => setRows([...rows, { key: "", value: "" }])}>+ Add {frame.label.toLowerCase()} entry</Button>
    </FieldFrame>
  );
}

/** A value of several scalar types (integer or string, say): one input, read as a number when it is one. */
export function LooseField(p: FieldProps) {
  const members = ((p.schema.anyOf ?? p.schema.oneOf ?? []) as Obj[]).map((m) => m.type);
  const types = Array.isArray(p.schema.type) ? (p.schema.type as string[]) : members;
  const frame = frameProps(p);
  const toText = (v: unknown) => (v === undefined || v === null ? "" : String(v));
  const { state: text, setState: setText, sent } = useOwnValue<string>(p.formData, toText);
  const change = (t: string) => {
    setText(t);
    const numeric = t.trim() !== "" && !Number.isNaN(Number(t));
    let value: unknown = t === "" ? undefined : t;
    if (numeric && types.includes("integer") && Number.isInteger(Number(t))) value = Number(t);
    else if (numeric && types.includes("number")) value = Number(t);
    else if (!types.includes("string") && (t === "true" || t === "false")) value = t === "true";
    sent.current = value;
    p.onChange(value, p.fieldPathId.path);
  };
  const hint = types.filter((t) => t !== "null").join(" or ");
  const def = p.schema.default;
  return (
    <FieldFrame {...frame} description={sentences(frame.description, hint && `(${hint})`)}>
      <Form.Control size="sm" id={frame.id} value={text} disabled={p.disabled || p.readonly}
                    placeholder={def === undefined ? "" : String(def)} onChange={(e) => change(e.target.value)} />
    </FieldFrame>
  );
}

/** A free object or a list, as JSON or YAML in a code editor, checked as one types. */
export function CodeField(p: FieldProps) {
  const frame = frameProps(p);
  const type = p.schema.type === "array" || p.schema.items !== undefined ? "list" : p.schema.type === "object" ? "map" : "any";
  const { state: initial, sent } = useOwnValue<unknown>(p.formData, (v) => v);
  // Text that does not parse is a problem of the node (lib/fieldErrors), kept when the form closes.
  const node = (p.registry.formContext as { node?: string } | undefined)?.node;
  const field = p.fieldPathId.path.join("/");
  const [draft] = useState(() => (node ? fieldErrorOf(node, field) : undefined));
  const [error, setErrorShown] = useState<string | null>(draft?.message ?? null);
  const setError = (message: string | null, text?: string) => {
    setErrorShown(message);
    if (node) setFieldError(node, field, message ? { message, text: text ?? "" } : null);
  };
  return (
    <FieldFrame {...frame} errors={[...(error ? [error] : []), ...(frame.errors ?? [])]}
                description={sentences(frame.description, `${type === "list" ? "A list" : type === "map" ? "A map" : "A value"}`
                  + " in YAML or JSON.")}>
      <Suspense fallback={<Spinner size="sm" animation="border" />}>
        <CodeEditor id={frame.id} label={frame.label} value={initial} draft={draft?.text} expect={type}
                    disabled={!!(p.disabled || p.readonly)}
                    onError={setError} onValue={(v) => { sent.current = v; p.onChange(v, p.fieldPathId.path); }} />
      </Suspense>
    </FieldFrame>
  );
}

export const formFields = { nbxMap: MapField, nbxLoose: LooseField, nbxCode: CodeField };
