import { Button, Form, Table } from "react-bootstrap";
import type { GraphMeta } from "../lib/graphDoc";
import type { GraphInput } from "../types";

const TYPES = ["string", "number", "integer", "boolean", "object", "any", "Url", "VolumeUrl",
               "Address", "HostRef", "Secret", "string[]"];

interface Props {
  meta: GraphMeta;
  setMeta: (m: GraphMeta) => void;
  readOnly: boolean;
}

export function GraphPanel({ meta, setMeta, readOnly }: Props) {
  const setInput = (i: number, patch: Partial<GraphInput>) =>
    setMeta({ ...meta, inputs: meta.inputs.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
  const addInput = () => {
    const names = new Set(meta.inputs.map((x) => x.name));
    let n = 1;
    while (names.has(`input_${n}`)) n++;
    setMeta({ ...meta, inputs: [...meta.inputs, { name: `input_${n}`, type: "string", required: true,
                                                   default: null, description: "" }] });
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
      <div className="d-flex align-items-center justify-content-between">
        <span className="small fw-semibold">Graph inputs</span>
        {!readOnly && <Button size="sm" variant="outline-primary" onClick={addInput}>Add input</Button>}
      </div>
      <Table size="sm" className="small mt-1 nbx-inputs">
        <thead><tr><th>name</th><th>type</th><th title="required">req</th><th /></tr></thead>
        <tbody>
          {meta.inputs.map((gi, i) => (
            <tr key={i}>
              <td><Form.Control size="sm" value={gi.name} disabled={readOnly} aria-label="Input name"
                                onChange={(e) => setInput(i, { name: e.target.value })} /></td>
              <td>
                <Form.Select size="sm" value={gi.type} disabled={readOnly} aria-label="Input type"
                             onChange={(e) => setInput(i, { type: e.target.value })}>
                  {[...new Set([...TYPES, gi.type])].map((t) => <option key={t}>{t}</option>)}
                </Form.Select>
              </td>
              <td><Form.Check checked={gi.required} disabled={readOnly} aria-label="Required"
                              onChange={(e) => setInput(i, { required: e.target.checked })} /></td>
              <td>{!readOnly && <Button size="sm" variant="link" className="p-0 text-danger" aria-label="Remove input"
                onClick={() => setMeta({ ...meta, inputs: meta.inputs.filter((_, j) => j !== i) })}>✕</Button>}</td>
            </tr>
          ))}
        </tbody>
      </Table>
      {meta.outputs.length > 0 && (
        <>
          <div className="small fw-semibold">Graph outputs</div>
          <ul className="small list-unstyled">
            {meta.outputs.map((o) => <li key={o.name}><code>{o.name}</code> ← {o.from.node} · {o.from.port}</li>)}
          </ul>
        </>
      )}
    </div>
  );
}
