import { lazy, Suspense, useMemo, useState } from "react";
import { Button, Form, InputGroup, Spinner } from "react-bootstrap";
import { useReactFlow, type Edge } from "@xyflow/react";
import type { BrickNode, BrickNodeData, GraphMeta } from "../lib/graphDoc";
import { isRef, refLabel, secretName } from "../lib/params";
import { typeColor, usePalette } from "../lib/palette";
import { fits } from "../lib/wiring";
import { SecretField } from "./SecretField";
import { BrickHelp } from "./Markdown";
import { BATCH_KEYS, ExecutionSettings } from "./ExecutionSettings";
import { CompositeInfo } from "./CompositeInfo";
import { NodeWhy } from "./NodeWhy";
import type { Run } from "../types";
import { retryImport } from "../lib/retryImport";

const ParamsForm = lazy(retryImport(() => import("./ParamsForm")));
/** The items of a for_each input, typed as a JSON list; kept as typed until it parses. */
export function ItemsField({ name, value, readOnly, onChange }: {
  name: string; value: unknown; readOnly: boolean; onChange: (items: unknown[] | undefined) => void;
}) {
  const [text, setText] = useState(() => (value === undefined ? "" : JSON.stringify(value)));
  const [error, setError] = useState<string | null>(null);
  const change = (t: string) => {
    setText(t);
    if (!t.trim()) {
      setError(null);
      return onChange(undefined);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(t);
    } catch {
      return setError("not JSON yet");
    }
    if (!Array.isArray(parsed)) return setError("must be a JSON list, e.g. [\"a\", \"b\"]");
    setError(null);
    onChange(parsed);
  };
  return (
    <Form.Group className="mb-2" controlId="nbx-items">
      <Form.Label className="small mb-0">{name}: items (JSON list, one run each)</Form.Label>
      <Form.Control size="sm" as="textarea" rows={2} className="font-monospace" value={text} disabled={readOnly}
                    spellCheck={false} isInvalid={!!error} aria-label={`${name} items`}
                    placeholder='["a", "b"]' onChange={(e) => change(e.target.value)} />
      {error && <Form.Control.Feedback type="invalid">{error}</Form.Control.Feedback>}
    </Form.Group>
  );
}

interface Props {
  node: BrickNode;
  edges: Edge[];
  meta: GraphMeta;
  readOnly: boolean;
  /** This node in the run shown, if any: where it deployed, for "Why does this run?". */
  ran?: Run["nodes"][string];
}

export function NodePanel({ node, edges, meta, readOnly, ran }: Props) {
  const { updateNodeData } = useReactFlow();
  const { byId, parents } = usePalette();
  const spec = byId.get(node.data.brick);
  const { params, extra } = node.data;
  const forEach = typeof extra.for_each === "string" ? extra.for_each : undefined;
  const update = (patch: Partial<BrickNodeData>) => updateNodeData(node.id, patch);
  const setParams = (p: Record<string, unknown>) => update({ params: p });
  const setExtra = (key: string, value: unknown) => {
    const next = { ...extra };
    if (value === undefined || value === "" || (key === "trigger" && value === "all_success")) delete next[key];
    else next[key] = value;
    update({ extra: next });
  };

  const wired = useMemo(() => {
    const m = new Map<string, string>();
    for (const e of edges) {
      if (e.target === node.id && e.targetHandle && !e.targetHandle.startsWith("__")) {
        m.set(e.targetHandle, `${e.source} · ${e.sourceHandle}`);
      }
    }
    return m;
  }, [edges, node.id]);
  // Set elsewhere: by a wire or a graph input (listed below), not by the form.
  const elsewhere = useMemo(() => {
    const secretPort = (k: string) => spec?.inputs.some((p) => p.name === k && p.type === "Secret");
    const refs = Object.entries(params).filter(([k, v]) => isRef(v) && ("$input" in v || !secretPort(k)));
    return new Set([...wired.keys(), ...refs.map(([k]) => k)]);
  }, [wired, params, spec]);
  // Secret inputs have their own write-only field.
  const secrets = useMemo(() => spec?.inputs.filter((p) => p.type === "Secret" && !elsewhere.has(p.name)) ?? [],
                          [spec, elsewhere]);
  // Keyed by content, so the form's schema stays the same object while one types.
  // The for_each input takes a list: edited as JSON below, not by the form.
  const hiddenKey = [...new Set([...elsewhere, ...secrets.map((p) => p.name), ...(forEach ? [forEach] : []),
    ...Object.entries(params).filter(([, v]) => isRef(v)).map(([k]) => k)])].sort().join("\n");
  const hidden = useMemo(() => new Set(hiddenKey ? hiddenKey.split("\n") : []), [hiddenKey]);
  const bindable = spec?.inputs.filter((p) => !elsewhere.has(p.name)) ?? [];
  const setParam = (k: string, v: unknown) => {
    const p = { ...params };
    if (v === undefined) delete p[k];
    else p[k] = v;
    setParams(p);
  };
  /** Run once per item of an input (or once): a hand-set value turns into a list of items and back. */
  const setForEach = (name: string) => {
    const next = { ...extra };
    const p = { ...params };
    if (forEach && forEach in p && Array.isArray(p[forEach])) {
      const items = p[forEach] as unknown[];
      if (items.length) p[forEach] = items[0];
      else delete p[forEach];
    }
    if (name) {
      next.for_each = name;
      if (name in p && !isRef(p[name])) p[name] = [p[name]];
    } else {
      delete next.for_each;
      for (const k of BATCH_KEYS) delete next[k];  // batch settings without for_each are refused
    }
    update({ extra: next, params: p });
  };

  return (
    <div className="nbx-node-panel" data-testid="node-panel">
      <Form.Group className="mb-2">
        <Form.Label className="small mb-0">Label</Form.Label>
        <Form.Control size="sm" value={node.data.label ?? ""} placeholder={spec?.title ?? node.data.brick}
                      disabled={readOnly} aria-label="Label"
                      onChange={(e) => update({ label: e.target.value || undefined })} />
      </Form.Group>
      <div className="small mb-2">
        <code>{node.data.brick}</code> · node <code>{node.id}</code>
        {spec?.docs && <BrickHelp docs={spec.docs} />}
      </div>
      <NodeWhy brick={node.data.brick} params={params} ran={ran} />
      {spec?.id.startsWith("composite:") && <CompositeInfo brick={node.data.brick} readOnly={readOnly}
                                                          onPin={(brick) => update({ brick })} />}
      {elsewhere.size > 0 && (
        <div className="mb-2">
          <div className="small fw-semibold">Not set here</div>
          <ul className="list-unstyled small mb-0">
            {[...elsewhere].map((k) => (
              <li key={k} data-testid={`wired-${k}`}>
                <code>{k}</code> ←{" "}
                {wired.has(k) ? <span>wire from <code>{wired.get(k)}</code></span>
                  : <span>{refLabel(params[k] as { $input?: string; $secret?: string })}{" "}
                      {!readOnly && <Button variant="link" size="sm" className="p-0"
                        onClick={() => setParam(k, undefined)}>unbind</Button>}</span>}
              </li>
            ))}
          </ul>
        </div>
      )}
      {!readOnly && meta.inputs.length > 0 && bindable.length > 0 && (
        <InputGroup size="sm" className="mb-2">
          <InputGroup.Text>Bind</InputGroup.Text>
          <Form.Select aria-label="Bind an input to a graph input" value="" onChange={(e) => {
            const [port, input] = e.target.value.split("\u0000");
            if (port) setParams({ ...params, [port]: { $input: input } });
          }}>
            <option value="">input ← graph input…</option>
            {bindable.flatMap((p) => meta.inputs.filter((gi) => fits(gi.type, p.type, parents)
                || (p.name === forEach && fits(gi.type, `${p.type}[]`, parents))).map((gi) => (
              <option key={`${p.name}:${gi.name}`} value={`${p.name}\u0000${gi.name}`}>{p.name} ← {gi.name}</option>
            )))}
          </Form.Select>
        </InputGroup>
      )}
      {forEach && !elsewhere.has(forEach) && spec?.inputs.some((p) => p.name === forEach) && (
        <ItemsField key={`${node.id}:${forEach}`} name={forEach} value={params[forEach]} readOnly={readOnly}
                    onChange={(v) => setParam(forEach, v)} />
      )}
      {secrets.map((p) => (
        <SecretField key={p.name} port={p} value={params[p.name]} readOnly={readOnly}
                     secretName={secretName(meta.name, node.id, p.name)} onChange={(v) => setParam(p.name, v)} />
      ))}
      {spec ? (
        <Suspense fallback={<Spinner size="sm" animation="border" />}>
          <ParamsForm key={node.id} node={node.id} spec={spec} params={params} hidden={hidden} readOnly={readOnly}
                      onChange={setParams} />
        </Suspense>
      ) : <p className="text-danger small">Brick {node.data.brick} is not in the palette.</p>}
      <ExecutionSettings key={node.id} nodeId={node.id} spec={spec} extra={extra} forEach={forEach} readOnly={readOnly}
                         setExtra={setExtra} setForEach={setForEach} />
      {spec && spec.outputs.length > 0 && (
        <div className="small mt-2">
          <span className="fw-semibold">Outputs: </span>
          {spec.outputs.map((p) => <span key={p.name} className="me-2"><code>{p.name}</code>{" "}
            <span style={{ color: typeColor(p.type) }}>{p.type}{forEach ? "[]" : ""}</span></span>)}
        </div>
      )}
    </div>
  );
}
