// A node's execution settings: fan-out (for_each) and its batches, trigger rule, retries, timeout.
import { useState, type ReactNode } from "react";
import { Form } from "react-bootstrap";
import { problemStore, useEntry } from "../lib/overlay";
import { TRIGGER_RULES } from "../lib/statuses";
import type { BrickSpec, Problem } from "../types";

const TRIGGERS = Object.keys(TRIGGER_RULES);
export const BATCH_KEYS = ["batch", "max_parallel", "pause_s", "max_failures"] as const;
const ALL_KEYS = ["trigger", "retries", "timeout_s", "for_each", ...BATCH_KEYS];

const startOpen = (extra: Record<string, unknown>) => ALL_KEYS.some((k) => extra[k] !== undefined);

/** The server's rule for `batch` (check_portion): a count of at least 1, or a percentage over 0% up to 100%. */
export function batchProblem(text: string): string | null {
  const t = text.trim();
  if (!t) return null;
  const m = /^(?:(\d{1,9})|(\d{1,3}(?:\.\d{1,3})?)%)$/.exec(t);
  if (m && ((m[1] && Number(m[1]) >= 1) || (m[2] && Number(m[2]) > 0 && Number(m[2]) <= 100))) return null;
  return `batch must be a count of at least 1 or a percentage over 0% up to 100% (e.g. 2 or "10%")`;
}

/** What the node stores for a typed batch: a count as a number, a percentage as a string. */
export const batchValue = (text: string): number | string | undefined =>
  !text.trim() ? undefined : /^\d+$/.test(text.trim()) ? Number(text.trim()) : text.trim();

/** Which number a field takes (server: ge/le), and the problem with what was typed, if any. */
const NUMBERS: Record<string, { label: string; min: number; max?: number; int: boolean; help: string }> = {
  max_parallel: { label: "Max parallel", min: 1, int: true, help: "items running at once" },
  pause_s: { label: "Pause between batches (s)", min: 0, max: 7 * 24 * 3600, int: false, help: "no worker is held meanwhile" },
  max_failures: { label: "Max failures", min: 0, int: true, help: "once more items failed, the rest are skipped" },
};

export function numberProblem(key: string, value: unknown): string | null {
  const rule = NUMBERS[key];
  if (value === undefined || !rule) return null;
  const n = Number(value);
  if (Number.isNaN(n) || (rule.int && !Number.isInteger(n))) return `${key} must be ${rule.int ? "a whole number" : "a number"}`;
  if (n < rule.min) return `${key} must be at least ${rule.min}`;
  if (rule.max !== undefined && n > rule.max) return `${key} must be at most ${rule.max}`;
  return null;
}

/** The server's problems about one setting of this node (path `/nodes/N/<key>`). */
const problemsOf = (problems: Problem[] | undefined, key: string) =>
  (problems ?? []).filter((p) => p.path?.endsWith(`/${key}`)).map((p) => p.message.replace(/^\/nodes\/\d+\/\w+: /, ""));

function Feedback({ messages }: { messages: (string | null)[] }) {
  const shown = [...new Set(messages.filter(Boolean))];
  return shown.length ? <Form.Control.Feedback type="invalid" data-testid="setting-problem">{shown.join("; ")}</Form.Control.Feedback> : null;
}

/** Batch, max parallel, pause and max failures: shown once the node fans out. */
function BatchSettings({ nodeId, extra, readOnly, setExtra }: Omit<Props, "spec" | "forEach" | "setForEach">) {
  const problems = useEntry(problemStore, nodeId);
  const [batchText, setBatchText] = useState(() => (extra.batch === undefined ? "" : String(extra.batch)));
  const local = batchProblem(batchText);
  const batchIssues = [local, ...problemsOf(problems, "batch")];
  return (
    <fieldset className="border rounded p-1 mb-1" data-testid="batch-settings">
      <legend className="small fw-semibold mb-0 float-none w-auto px-1">Batches</legend>
      <Form.Group className="mb-1" controlId="nbx-batch">
        <Form.Label className="mb-0">Batch size (count or %)</Form.Label>
        <Form.Control size="sm" value={batchText} placeholder="every item at once" disabled={readOnly}
                      isInvalid={batchIssues.some(Boolean)}
                      onChange={(e) => {
                        setBatchText(e.target.value);
                        // An invalid value is stored too: the server's problem then shows on the node.
                        setExtra("batch", batchValue(e.target.value));
                      }} />
        <Feedback messages={batchIssues} />
      </Form.Group>
      {Object.entries(NUMBERS).map(([key, rule]) => {
        const issues = [numberProblem(key, extra[key]), ...problemsOf(problems, key)];
        return (
          <Form.Group key={key} className="mb-1" controlId={`nbx-${key}`}>
            <Form.Label className="mb-0" title={rule.help}>{rule.label}</Form.Label>
            <Form.Control size="sm" type="number" min={rule.min} max={rule.max} step={rule.int ? 1 : "any"}
                          value={(extra[key] as number | undefined) ?? ""} disabled={readOnly} placeholder="not set"
                          isInvalid={issues.some(Boolean)}
                          onChange={(e) => setExtra(key, e.target.value === "" ? undefined : Number(e.target.value))} />
            <Feedback messages={issues} />
          </Form.Group>
        );
      })}
    </fieldset>
  );
}

interface Props {
  nodeId: string;
  spec: BrickSpec | undefined;
  extra: Record<string, unknown>;
  forEach: string | undefined;
  readOnly: boolean;
  setExtra: (key: string, value: unknown) => void;
  setForEach: (name: string) => void;
}

/** Open at first when the node has any setting (then as the user leaves it). */
export function ExecutionSettings(p: Props) {
  const [open] = useState(() => startOpen(p.extra));
  const { spec, extra, forEach, readOnly, setExtra } = p;
  const field = (key: string, label: string, control: ReactNode) => (
    <Form.Group className="mb-1" controlId={`nbx-${key}`}>
      <Form.Label className="mb-0">{label}</Form.Label>
      {control}
    </Form.Group>
  );
  return (
    <details className="mt-2 small" open={open}>
      <summary>Execution</summary>
      {spec && spec.inputs.length > 0 && field("for-each", "Run once per item of", (
        <Form.Select size="sm" value={forEach ?? ""} disabled={readOnly} onChange={(e) => p.setForEach(e.target.value)}>
          <option value="">(run once)</option>
          {spec.inputs.map((port) => <option key={port.name} value={port.name}>{port.name} ({port.type}[])</option>)}
          {forEach && !spec.inputs.some((port) => port.name === forEach) && <option value={forEach}>{forEach} (unknown)</option>}
        </Form.Select>
      ))}
      {forEach && <BatchSettings nodeId={p.nodeId} extra={extra} readOnly={readOnly} setExtra={setExtra} />}
      {field("trigger", "Trigger rule", (
        <Form.Select size="sm" value={(extra.trigger as string) ?? "all_success"} disabled={readOnly}
                     onChange={(e) => setExtra("trigger", e.target.value)}>
          {TRIGGERS.map((t) => <option key={t}>{t}</option>)}
        </Form.Select>
      ))}
      {field("retries", "Retries", (
        <Form.Control size="sm" type="number" min={0} max={20} value={(extra.retries as number) ?? ""} disabled={readOnly}
                      onChange={(e) => setExtra("retries", e.target.value === "" ? undefined : Number(e.target.value))} />
      ))}
      {field("timeout", "Timeout (s)", (
        <Form.Control size="sm" type="number" min={1} value={(extra.timeout_s as number) ?? ""} disabled={readOnly}
                      onChange={(e) => setExtra("timeout_s", e.target.value === "" ? undefined : Number(e.target.value))} />
      ))}
    </details>
  );
}
