import { useEffect, useState } from "react";
import { Alert, Button, Form, Modal } from "react-bootstrap";
import type { GraphInput } from "../types";

interface Props {
  show: boolean;
  inputs: GraphInput[];
  onHide: () => void;
  onStart: (values: Record<string, unknown>) => void;
  /** The values last planned or run with (Plan's carry over to Run, and back). */
  last?: Record<string, unknown>;
  /** The same inputs form also asks what to plan with. */
  title?: string;
  submit?: string;
}

const isJson = (t: string) => t === "object" || t === "any" || t.endsWith("[]");

/** What the field shows first: the value last planned or run with, else the input's default
 *  (a Secret's stored default is never shown). */
function initial(gi: GraphInput, last?: Record<string, unknown>): string | boolean {
  const given = last !== undefined && gi.name in last;
  const v = given ? last[gi.name] : gi.type === "Secret" ? null : gi.default;
  if (gi.type === "boolean") return v === true;
  if (v === null || v === undefined) return "";
  return isJson(gi.type) ? JSON.stringify(v) : String(v);
}

/** The values to send, or an error naming the input. */
export function readInputs(inputs: GraphInput[], raw: Record<string, string | boolean>):
    { values?: Record<string, unknown>; error?: string } {
  const values: Record<string, unknown> = {};
  for (const gi of inputs) {
    const v = raw[gi.name];
    if (gi.type === "boolean") { values[gi.name] = v === true; continue; }
    const s = typeof v === "string" ? v.trim() : "";
    if (s === "") {
      if (gi.required && (gi.default === null || gi.default === undefined)) return { error: `${gi.name} is required` };
      continue;
    }
    if (gi.type === "number" || gi.type === "integer") {
      const n = Number(s);
      if (Number.isNaN(n) || (gi.type === "integer" && !Number.isInteger(n))) return { error: `${gi.name} must be a ${gi.type}` };
      values[gi.name] = n;
    } else if (isJson(gi.type)) {
      try { values[gi.name] = JSON.parse(s); } catch { return { error: `${gi.name} must be JSON` }; }
    } else values[gi.name] = s;
  }
  return { values };
}

export function RunDialog({ show, inputs, last, onHide, onStart, title = "Run the graph", submit = "Start run" }: Props) {
  const formId = submit === "Start run" ? "run-form" : "plan-form";
  const [raw, setRaw] = useState<Record<string, string | boolean>>({});
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    if (show) {
      setRaw(Object.fromEntries(inputs.map((gi) => [gi.name, initial(gi, last)])));
      setError(undefined);
    }
  }, [show, inputs, last]);
  const start = () => {
    const { values, error: err } = readInputs(inputs, raw);
    setError(err);
    if (values) onStart(values);
  };
  return (
    <Modal show={show} onHide={onHide}>
      <Modal.Header closeButton><Modal.Title>{title}</Modal.Title></Modal.Header>
      <Modal.Body>
        <Form onSubmit={(e) => { e.preventDefault(); start(); }} id={formId}>
          {inputs.map((gi) => (
            <Form.Group key={gi.name} className="mb-2">
              {gi.type === "boolean" ? (
                <Form.Check label={gi.name} checked={raw[gi.name] === true}
                            onChange={(e) => setRaw({ ...raw, [gi.name]: e.target.checked })} />
              ) : (
                <>
                  <Form.Label className="small mb-0">{gi.name}{gi.required && " *"} <span className="text-body-secondary">{gi.type}</span></Form.Label>
                  <Form.Control size="sm" aria-label={gi.name}
                                type={gi.type === "Secret" ? "password" : gi.type === "number" || gi.type === "integer" ? "number" : "text"}
                                autoComplete={gi.type === "Secret" ? "new-password" : "off"}
                                value={String(raw[gi.name] ?? "")}
                                onChange={(e) => setRaw({ ...raw, [gi.name]: e.target.value })} />
                </>
              )}
              {gi.description && <Form.Text>{gi.description}</Form.Text>}
            </Form.Group>
          ))}
          {!inputs.length && <p className="mb-0">This graph has no inputs.</p>}
        </Form>
        {error && <Alert variant="danger" className="small p-2 mt-2 mb-0">{error}</Alert>}
      </Modal.Body>
      <Modal.Footer>
        <Button variant="secondary" onClick={onHide}>Cancel</Button>
        <Button type="submit" form={formId} data-testid={submit === "Start run" ? "start-run" : "start-plan"}>{submit}</Button>
      </Modal.Footer>
    </Modal>
  );
}
