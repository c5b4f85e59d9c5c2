// The parameter form of one node, generated from its brick's inputs_schema (loaded lazily).
import { useMemo, useRef } from "react";
import Form from "@rjsf/react-bootstrap";
import validator from "@rjsf/validator-ajv8";
import type { IChangeEvent } from "@rjsf/core";
import type { RJSFSchema, UiSchema } from "@rjsf/utils";
import type { BrickSpec } from "../types";
import { canonJson, isRef, isSecretSchema, paramsSchema, pruneDefaults } from "../lib/params";
import { fieldsUi, formSchema } from "../lib/formSchema";
import { formFields } from "./FormFields";

const same = (a: unknown, b: unknown) => canonJson(a) === canonJson(b);
// No empty {} or [] filled in for fields nobody set: they would be saved as values.
const DEFAULTS = { emptyObjectFields: "skipEmptyDefaults", arrayMinItems: { populate: "never" } } as const;

interface Props {
  /** The node's id: a code field that does not parse is a problem of this node. */
  node?: string;
  spec: BrickSpec;
  params: Record<string, unknown>;
  /** Inputs fed by a wire or bound to a graph input / secret: not edited here. */
  hidden: Set<string>;
  readOnly: boolean;
  onChange: (params: Record<string, unknown>) => void;
}

export default function ParamsForm({ node, spec, params, hidden, readOnly, onChange }: Props) {
  // Optional fields (anyOf [X, null]) are plain inputs: empty = not set.
  const schema = useMemo(() => formSchema(paramsSchema(spec.inputs_schema, hidden)), [spec, hidden]);
  const props = useMemo(() => (schema.properties ?? {}) as Record<string, Record<string, unknown>>, [schema]);
  const secrets = useMemo(() => Object.keys(props).filter((k) => isSecretSchema(props[k], schema)),
                          [props, schema]);
  const uiSchema = useMemo(() => {
    const ui: UiSchema = { "ui:submitButtonOptions": { norender: true }, "ui:globalOptions": { enableMarkdownInDescription: true },
                           ...fieldsUi(schema) };
    for (const k of secrets) {
      const stored = params[k] !== undefined && params[k] !== "";
      ui[k] = { "ui:widget": "password", "ui:placeholder": stored ? "stored - type to replace" : "",
                "ui:autocomplete": "new-password" };
    }
    return ui;
  }, [secrets, params, schema]);
  // A stored secret is never sent back to the page's inputs; only what is typed here shows.
  const typed = useRef<Record<string, unknown>>({});
  const formData = useMemo(() => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(params)) {
      if (hidden.has(k) || isRef(v)) continue;
      if (!secrets.includes(k) || typed.current[k] === v) out[k] = v;
    }
    return out;
  }, [params, secrets, hidden]);

  /** The params a form state stands for: defaults and empty values dropped, what is set elsewhere kept. */
  const paramsOf = (values: Record<string, unknown>) => {
    const next = pruneDefaults(values, schema);
    for (const [k, v] of Object.entries(params)) {
      if (hidden.has(k) || isRef(v)) next[k] = v;
      else if (secrets.includes(k) && (next[k] === undefined || next[k] === "")) next[k] = v;
    }
    return next;
  };
  const change = (e: IChangeEvent) => {
    const values = (e.formData ?? {}) as Record<string, unknown>;
    for (const k of secrets) if (values[k] !== undefined && values[k] !== "") typed.current[k] = values[k];
    const next = paramsOf(values);
    // Showing the form (defaults filled in, a stored default dropped) is not an edit.
    if (same(next, params) || same(next, paramsOf(formData))) return;
    onChange(next);
  };

  const formContext = useMemo(() => ({ node }), [node]);
  if (!Object.keys(props).length) return <p className="text-body-secondary small">No parameters to set.</p>;
  return (
    <Form
      className="nbx-params"
      schema={schema as RJSFSchema}
      uiSchema={uiSchema}
      fields={formFields}
      formContext={formContext}
      formData={formData}
      validator={validator}
      onChange={change}
      disabled={readOnly}
      noHtml5Validate
      showErrorList={false}
      liveValidate="onChange"
      experimental_defaultFormStateBehavior={DEFAULTS}
    />
  );
}
