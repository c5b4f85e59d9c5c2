import { useMemo, useState } from "react";
import { Button, Form, InputGroup } from "react-bootstrap";
import type { GraphMeta } from "../lib/graphDoc";
import { usePalette } from "../lib/palette";
import type { GraphInput } from "../types";

/** Types a graph input commonly has; the palette's port types are added to these. */
const BASE_TYPES = ["string", "number", "integer", "boolean", "object", "any", "Url", "VolumeUrl",
                    "Address", "HostRef", "Secret", "string[]"];

export interface NodeSummary {
  id: string;
  brick: string;
  label?: string;
}

interface Props {
  meta: GraphMeta;
  setMeta: (m: GraphMeta) => void;
  readOnly: boolean;
  /** The graph's nodes, for choosing where a graph output comes from. */
  nodes: NodeSummary[];
}

const isJsonType = (t: string) => t === "object" || t === "any" || t.endsWith("[]");

/** The text shown for a default value of a type. */
export function defaultText(type: string, v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string" && !isJsonType(type)) return v;
  return JSON.stringify(v);
}

/** Read a typed default: the value, or an error. Empty means no default (null). */
export function parseDefault(type: string, text: string): { value?: unknown; error?: string } {
  const t = text.trim();
  if (t === "") return { value: null };
  if (type === "number" || type === "integer") {
    const n = Number(t);
    if (Number.isNaN(n) || (type === "integer" && !Number.isInteger(n))) return { error: `not ${type === "integer" ? "an" : "a"} ${type}` };
    return { value: n };
  }
  if (type === "boolean") {
    if (t === "true" || t === "false") return { value: t === "true" };
    return { error: "true or false" };
  }
  if (isJsonType(type)) {
    try {
      const v = JSON.parse(t);
      if (type.endsWith("[]") && !Array.isArray(v)) return { error: "must be a JSON list" };
      return { value: v };
    } catch {
      return { error: "not JSON" };
    }
  }
  return { value: text };
}

function DefaultField({ input, readOnly, onChange }: {
  input: GraphInput; readOnly: boolean; onChange: (value: unknown) => void;
}) {
  const [text, setText] = useState(() => defaultText(input.type, input.default));
  const [error, setError] = useState<string | undefined>();
  if (input.type === "boolean") {
    return (
      <Form.Select aria-label="Input default" disabled={readOnly}
                   value={input.default === true ? "true" : input.default === false ? "false" : ""}
                   onChange={(e) => onChange(e.target.value === "" ? null : e.target.value === "true")}>
        <option value="">no default</option>
        <option value="true">default: true</option>
        <option value="false">default: false</option>
      </Form.Select>
    );
  }
  const change = (t: string) => {
    setText(t);
    const r = parseDefault(input.type, t);
    setError(r.error);
    if (!r.error) onChange(r.value);
  };
  return (
    <>
      <Form.Control aria-label="Input default" disabled={readOnly || input.type === "Secret"}
                    placeholder={input.type === "Secret" ? "a secret has no default" : `none (${input.type})`}
                    className={isJsonType(input.type) ? "font-monospace" : undefined}
                    value={text} isInvalid={!!error} onChange={(e) => change(e.target.value)} />
      {error && <Form.Control.Feedback type="invalid">{error}</Form.Control.Feedback>}
    </>
  );
}

function freshName(base: string, taken: Set<string>): string {
  let n = 1;
  while (taken.has(`${base}_${n}`)) n++;
  return `${base}_${n}`;
}

export function GraphPanel({ meta, setMeta, readOnly, nodes }: Props) {
  const { byId, palette } = usePalette();
  const types = useMemo(() => {
    const found = new Set(BASE_TYPES);
    for (const b of palette.bricks) for (const p of [...b.inputs, ...b.outputs]) if (p.type !== "any[]") found.add(p.type);
    return [...found];
  }, [palette]);
  const outputsOf = (nodeId: string) => byId.get(nodes.find((n) => n.id === nodeId)?.brick ?? "")?.outputs ?? [];
  const producers = nodes.filter((n) => (byId.get(n.brick)?.outputs.length ?? 0) > 0);

  const setInput = (i: number, patch: Partial<GraphInput>) =>
    setMeta({ ...meta, inputs: meta.inputs.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
  const addInput = () => {
    const name = freshName("input", new Set(meta.inputs.map((x) => x.name)));
    setMeta({ ...meta, inputs: [...meta.inputs, { name, type: "string", required: true, default: null, description: "" }] });
  };
  type Output = GraphMeta["outputs"][number];
  const setOutput = (i: number, patch: Partial<Output>) =>
    setMeta({ ...meta, outputs: meta.outputs.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
  const addOutput = () => {
    const first = producers[0];
    if (!first) return;
    const name = freshName("output", new Set(meta.outputs.map((x) => x.name)));
    setMeta({ ...meta, outputs: [...meta.outputs, { name, from: { node: first.id, port: outputsOf(first.id)[0].name } }] });
  };

  return (
    <div data-testid="graph-panel">
      <Form.Group className="mb-2">
        <Form.Label className="small mb-0">Name</Form.Label>
        <Form.Control size="sm" value={meta.name} disabled={readOnly} aria-label="Graph name"
                      onChange={(e) => setMeta({ ...meta, name: e.target.value })} />
      </Form.Group>
      <Form.Group className="mb-2">
        <Form.Label className="small mb-0">Description</Form.Label>
        <Form.Control size="sm" as="textarea" rows={2} value={meta.description} disabled={readOnly}
                      onChange={(e) => setMeta({ ...meta, description: e.target.value })} />
      </Form.Group>

      <div className="d-flex align-items-center justify-content-between mt-3">
        <span className="small fw-semibold">Graph inputs</span>
        {!readOnly && <Button size="sm" variant="outline-primary" onClick={addInput}>Add input</Button>}
      </div>
      {!meta.inputs.length && <p className="small text-body-secondary mb-1">None: a run asks for nothing.</p>}
      {meta.inputs.map((gi, i) => (
        <div key={i} className="nbx-graph-io border rounded p-1 mt-1" data-testid="graph-input">
          <InputGroup size="sm" className="mb-1">
            <Form.Control value={gi.name} disabled={readOnly} aria-label="Input name" placeholder="name"
                          onChange={(e) => setInput(i, { name: e.target.value })} />
            <Form.Select value={gi.type} disabled={readOnly} aria-label="Input type" className="nbx-type-select"
                         onChange={(e) => setInput(i, { type: e.target.value })}>
              {[...new Set([...types, gi.type])].map((t) => <option key={t}>{t}</option>)}
            </Form.Select>
            <InputGroup.Text title="A run must give a value (or the default is used)">
              <Form.Check className="m-0" checked={gi.required} disabled={readOnly} aria-label="Required"
                          onChange={(e) => setInput(i, { required: e.target.checked })} />
              <span className="ms-1">req</span>
            </InputGroup.Text>
            {!readOnly && <Button variant="outline-danger" aria-label="Remove input" title="Remove input"
              onClick={() => setMeta({ ...meta, inputs: meta.inputs.filter((_, j) => j !== i) })}>✕</Button>}
          </InputGroup>
          {/* Keyed by type: a new type reads the default again. */}
          <InputGroup size="sm" className="mb-1" hasValidation>
            <InputGroup.Text className="nbx-io-key">default</InputGroup.Text>
            <DefaultField key={`${i}:${gi.type}`} input={gi} readOnly={readOnly}
                          onChange={(v) => setInput(i, { default: v })} />
          </InputGroup>
          <InputGroup size="sm">
            <InputGroup.Text className="nbx-io-key">about</InputGroup.Text>
            <Form.Control value={gi.description} disabled={readOnly} aria-label="Input description"
                          placeholder="description" onChange={(e) => setInput(i, { description: e.target.value })} />
          </InputGroup>
        </div>
      ))}

      <div className="d-flex align-items-center justify-content-between mt-3">
        <span className="small fw-semibold">Graph outputs</span>
        {!readOnly && <Button size="sm" variant="outline-primary" onClick={addOutput} disabled={!producers.length}
                              title={producers.length ? undefined : "Add a node with outputs first"}>Add output</Button>}
      </div>
      {!meta.outputs.length && <p className="small text-body-secondary mb-1">None.</p>}
      {meta.outputs.map((o, i) => {
        const ports = outputsOf(o.from.node);
        return (
          <div key={i} className="nbx-graph-io border rounded p-1 mt-1" data-testid="graph-output">
            <InputGroup size="sm" className="mb-1">
              <Form.Control value={o.name} disabled={readOnly} aria-label="Output name" placeholder="name"
                            onChange={(e) => setOutput(i, { name: e.target.value })} />
              {!readOnly && <Button variant="outline-danger" aria-label="Remove output" title="Remove output"
                onClick={() => setMeta({ ...meta, outputs: meta.outputs.filter((_, j) => j !== i) })}>✕</Button>}
            </InputGroup>
            <InputGroup size="sm">
              <InputGroup.Text className="nbx-io-key" title="The value of this node's output port">from</InputGroup.Text>
              <Form.Select value={o.from.node} disabled={readOnly} aria-label="Output node"
                           onChange={(e) => {
                             const port = outputsOf(e.target.value)[0]?.name ?? "";
                             setOutput(i, { from: { node: e.target.value, port } });
                           }}>
                {!nodes.some((n) => n.id === o.from.node) && <option value={o.from.node}>{o.from.node} (missing)</option>}
                {producers.map((n) => <option key={n.id} value={n.id}>{n.label ? `${n.label} (${n.id})` : n.id}</option>)}
              </Form.Select>
              <Form.Select value={o.from.port} disabled={readOnly} aria-label="Output port"
                           onChange={(e) => setOutput(i, { from: { ...o.from, port: e.target.value } })}>
                {!ports.some((p) => p.name === o.from.port) && <option value={o.from.port}>{o.from.port || "-"} (missing)</option>}
                {ports.map((p) => <option key={p.name} value={p.name} title={p.type}>{p.name}</option>)}
              </Form.Select>
            </InputGroup>
          </div>
        );
      })}
    </div>
  );
}
