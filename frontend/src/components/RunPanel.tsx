import { Fragment, useEffect, useState } from "react";
import { Button, ButtonGroup, Form, ListGroup, Table } from "react-bootstrap";
import { Api } from "../api/client";
import { useCan } from "../hooks/useAuth";
import { formatDuration, formatTime, itemProgress, shortJson } from "../lib/format";
import { logStore, useEntry } from "../lib/overlay";
import type { Run, RunItem, RunNode, RunSummary } from "../types";
import { RunChanges } from "./RevisionDiff";
import { RolloutGrid } from "./RolloutGrid";
import { StatusBadge } from "./StatusBadge";

export { StatusBadge };

function Json({ value }: { value: unknown }) {
  return <pre className="nbx-json">{JSON.stringify(value ?? null, null, 2)}</pre>;
}

/** A node's (or one item's) log, reloaded while its log events come in. */
function useLog(runId: string, logId: string, status: string | undefined, attempt: number | undefined) {
  const [log, setLog] = useState<string | null>(null);
  const logEvents = useEntry(logStore, logId);
  useEffect(() => {
    let live = true;
    if (!status || status === "pending" || status === "queued") return;
    const t = setTimeout(() => {
      // An empty log comes back as no body at all.
      Api.log(runId, logId).then((text) => live && setLog(text ?? "")).catch(() => live && setLog(""));
    }, logEvents ? 200 : 0);
    return () => { live = false; clearTimeout(t); };
  }, [runId, logId, status, attempt, logEvents]);
  useEffect(() => setLog(null), [runId, logId]);
  return log;
}

/** Inputs, outputs and log of one node or one item of a fan-out. */
function StateIO({ runId, logId, state, testId }: { runId: string; logId: string; state: RunNode; testId: string }) {
  const log = useLog(runId, logId, state.status, state.attempt);
  return (
    <>
      <div className="fw-semibold">Inputs</div><Json value={state.inputs} />
      <div className="fw-semibold">Outputs</div><Json value={state.outputs} />
      <div className="fw-semibold">Log</div>
      <pre className="nbx-json" data-testid={testId}>{log === null ? "…" : log || "(empty)"}</pre>
    </>
  );
}

/** Approve or reject a waiting gate; the approver is the signed-in user. */
function Decide({ nodeId, onDecide }: { nodeId: string; onDecide: NodeProps["onDecide"] }) {
  const [comment, setComment] = useState("");
  const may = useCan()("operator");
  return (
    <Form className="mb-2 p-2 border rounded" data-testid="decide-form" onSubmit={(e) => e.preventDefault()}>
      <Form.Group className="mb-1" controlId="nbx-approval-comment">
        <Form.Label className="mb-0">Comment</Form.Label>
        <Form.Control size="sm" placeholder="optional" value={comment} maxLength={2000}
                      onChange={(e) => setComment(e.target.value)} aria-label="Approval comment" />
      </Form.Group>
      <ButtonGroup size="sm">
        <Button variant="success" {...may} onClick={() => onDecide(nodeId, "approve", comment)}>Approve</Button>
        <Button variant="danger" {...may} onClick={() => onDecide(nodeId, "reject", comment)}>Reject</Button>
      </ButtonGroup>
    </Form>
  );
}

function Items({ runId, items }: { runId: string; items: RunItem[] }) {
  const [picked, setPicked] = useState<string | null>(null);
  const { done, failed, total } = itemProgress(items);
  const item = items.find((it) => it.id === picked);
  return (
    <div className="mb-2">
      <div className="fw-semibold">
        Items <span className="text-body-secondary fw-normal" data-testid="run-items-progress">
          {done}/{total} done{failed ? `, ${failed} failed` : ""}</span>
      </div>
      <Table size="sm" hover className="small mb-1 nbx-items-table" data-testid="run-items">
        <thead><tr><th>#</th><th>item</th><th>status</th><th>time</th></tr></thead>
        <tbody>
          {items.map((it, i) => (
            <Fragment key={it.id}>
              <tr className={`nbx-item-row${it.id === picked ? " active" : ""}`} data-testid="run-item"
                  onClick={() => setPicked(it.id === picked ? null : it.id)} title={`${it.id}: show inputs, outputs and log`}>
                <td>{i}</td>
                <td><code>{shortJson(it.item)}</code></td>
                <td><StatusBadge status={it.status} />{it.attempt > 1 ? ` ×${it.attempt}` : ""}</td>
                <td>{formatDuration(it.duration_s)}</td>
              </tr>
              {it.error && (
                <tr className="nbx-item-row" onClick={() => setPicked(it.id)}>
                  <td />
                  <td colSpan={3} className="text-danger" data-testid="run-item-error">{it.error}</td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </Table>
      {item ? (
        <div className="border rounded p-1" data-testid="run-item-detail">
          <div className="d-flex gap-2 align-items-center mb-1">
            <strong>{item.id}</strong> <StatusBadge status={item.status} />
            {item.host && <span>on {item.host}</span>}
            <Button size="sm" variant="link" className="p-0 ms-auto" onClick={() => setPicked(null)}>close</Button>
          </div>
          <StateIO runId={runId} logId={item.id} state={item} testId="run-item-log" />
        </div>
      ) : <div className="text-body-secondary">Click an item to see its inputs, outputs and log.</div>}
    </div>
  );
}

/** An inner node of a composite, as GET /api/runs/{id} lists it under the composite's `children`. */
type RunChild = RunNode & { id: string; children?: RunChild[] };

/** Inner nodes at every depth, each with how deep it is (a composite inside a composite). */
function flatten(children: RunChild[], depth = 0): [RunChild, number][] {
  return children.flatMap((c) => [[c, depth] as [RunChild, number], ...flatten(c.children ?? [], depth + 1)]);
}

/** A composite node's inner nodes with their statuses; one picked shows its own detail. */
function InnerNodes({ runId, children, onRetry }: { runId: string; children: RunChild[]; onRetry: NodeProps["onRetry"] }) {
  const may = useCan()("operator");
  const [picked, setPicked] = useState<string | null>(null);
  const rows = flatten(children);
  const inner = rows.find(([c]) => c.id === picked)?.[0];
  return (
    <div className="mb-2">
      <div className="fw-semibold">Inner nodes</div>
      <Table size="sm" hover className="small mb-1" data-testid="run-children">
        <thead><tr><th>node</th><th>status</th><th>time</th></tr></thead>
        <tbody>
          {rows.map(([c, depth]) => (
            <tr key={c.id} data-testid="run-child" className={c.id === picked ? "active" : undefined}
                onClick={() => setPicked(c.id === picked ? null : c.id)} title={`${c.id}: show inputs, outputs and log`}>
              <td style={{ paddingLeft: `${0.25 + depth}rem` }}><code>{c.id}</code>
                {c.items ? <span className="text-body-secondary"> ({itemProgress(c.items).done}/{c.items.length} items)</span> : null}</td>
              <td><StatusBadge status={c.status} />{c.attempt > 1 ? ` ×${c.attempt}` : ""}</td>
              <td>{formatDuration(c.duration_s)}</td>
            </tr>
          ))}
        </tbody>
      </Table>
      {inner ? (
        <div className="border rounded p-1" data-testid="run-child-detail">
          <div className="d-flex gap-2 align-items-center mb-1">
            <strong>{inner.id}</strong> <StatusBadge status={inner.status} />
            {inner.host && <span>on {inner.host}</span>}
            <Button size="sm" variant="link" className="p-0 ms-auto" onClick={() => setPicked(null)}>close</Button>
          </div>
          {inner.error && <div className="alert alert-danger p-1 mb-1" data-testid="run-child-error">{inner.error}</div>}
          {inner.status === "failed" && !inner.children && (
            <Button size="sm" variant="warning" className="mb-1" {...may} onClick={() => onRetry(inner.id)}>Retry inner node</Button>
          )}
          <StateIO runId={runId} logId={inner.id} state={inner} testId="run-child-log" />
        </div>
      ) : <div className="text-body-secondary">Click an inner node to see its inputs, outputs and log.</div>}
    </div>
  );
}

interface NodeProps {
  run: Run;
  nodeId: string;
  onRetry: (node: string) => void;
  onDecide: (node: string, verdict: "approve" | "reject", comment: string) => void;
}

function RunNodeDetail({ run, nodeId, onRetry, onDecide }: NodeProps) {
  const may = useCan()("operator");
  const state = run.nodes[nodeId];
  if (!state) return <p className="small text-body-secondary">Node {nodeId} has not started.</p>;
  const decision = state.wait?.decision;
  return (
    <div className="small" data-testid="run-node">
      <div className="d-flex gap-2 align-items-center mb-1 flex-wrap">
        <strong>{nodeId}</strong> <StatusBadge status={state.status} />
        {state.attempt > 1 && <span>attempt {state.attempt}</span>}
        {state.duration_s != null && <span>{formatDuration(state.duration_s)}</span>}
        {state.host && <span>on {state.host}</span>}
      </div>
      {state.error && <div className="alert alert-danger p-1 mb-1" data-testid="run-node-error">{state.error}</div>}
      {state.status === "waiting" && state.wait?.reason && (
        <div className="alert alert-warning p-1 mb-1" data-testid="run-node-wait">{state.wait.reason}</div>
      )}
      {decision && (
        <div className="mb-1" data-testid="run-node-decision">
          {decision.approved ? "Approved" : "Rejected"} by <strong>{decision.by}</strong> · {formatTime(decision.at)}
          {decision.comment && <>: <q>{decision.comment}</q></>}
        </div>
      )}
      {state.status === "failed" && (
        <Button size="sm" variant="warning" className="mb-1" {...may} onClick={() => onRetry(nodeId)}>Retry node</Button>
      )}
      {state.status === "waiting" && <Decide nodeId={nodeId} onDecide={onDecide} />}
      {state.items && <Items key={nodeId} runId={run.id} items={state.items} />}
      {(state as RunChild).children && (
        <InnerNodes key={`${nodeId}-inner`} runId={run.id} children={(state as RunChild).children!} onRetry={onRetry} />
      )}
      <StateIO runId={run.id} logId={nodeId} state={state} testId="run-node-log" />
    </div>
  );
}

interface Props {
  run: Run | null;
  runs: RunSummary[];
  nodeId: string | null;
  onCancel: () => void;
  onRetry: (node: string) => void;
  onDecide: (node: string, verdict: "approve" | "reject", comment: string) => void;
  onOpenRun: (id: string) => void;
  onClose: () => void;
}

export function RunPanel({ run, runs, nodeId, onCancel, onRetry, onDecide, onOpenRun, onClose }: Props) {
  const may = useCan()("operator");
  return (
    <div data-testid="run-panel">
      {run ? (
        <div className="mb-2">
          <div className="d-flex align-items-center gap-2 flex-wrap">
            <span className="small">Run <code>{run.id.slice(0, 8)}</code></span>
            <span data-testid="run-status"><StatusBadge status={run.status} /></span>
            {run.status === "running" && <Button size="sm" variant="outline-danger" {...may} onClick={onCancel}>Cancel run</Button>}
            <Button size="sm" variant="outline-secondary" onClick={onClose}>Close</Button>
          </div>
          {run.error && <div className="alert alert-danger p-1 small mt-1">{run.error}</div>}
          <div className="small text-body-secondary">
            revision {run.revision ?? "-"} · started {formatTime(run.started_at ?? run.created_at)}
            {run.finished_at && ` · finished ${formatTime(run.finished_at)}`}
          </div>
          <RunChanges runId={run.id} />
          <hr className="my-2" />
          <RolloutGrid run={run} />
          {nodeId ? <RunNodeDetail key={nodeId} run={run} nodeId={nodeId} onRetry={onRetry} onDecide={onDecide} />
            : <p className="small text-body-secondary">Select a node to see its inputs, outputs and log.</p>}
        </div>
      ) : <p className="small text-body-secondary">No run shown.</p>}
      <div className="small fw-semibold">Runs of this graph</div>
      <ListGroup variant="flush" className="small" data-testid="run-list">
        {runs.map((r) => (
          <ListGroup.Item key={r.id} action active={r.id === run?.id} onClick={() => onOpenRun(r.id)} className="py-1 px-2">
            <StatusBadge status={r.status} /> rev {r.revision ?? "-"} · {formatTime(r.created_at)}
          </ListGroup.Item>
        ))}
        {!runs.length && <ListGroup.Item className="py-1 px-2 text-body-secondary">none yet</ListGroup.Item>}
      </ListGroup>
    </div>
  );
}
