import { useEffect, useState } from "react";
import { Badge, Button, ButtonGroup, Form, ListGroup } from "react-bootstrap";
import { Api } from "../api/client";
import { formatDuration, formatTime } from "../lib/format";
import { logStore, useEntry } from "../lib/overlay";
import type { Run, RunSummary } from "../types";

const VARIANT: Record<string, string> = {
  succeeded: "success", failed: "danger", running: "primary", waiting: "warning",
  cancelled: "secondary", skipped: "secondary", queued: "info", pending: "light",
};

export const StatusBadge = ({ status }: { status: string }) => (
  <Badge bg={VARIANT[status] ?? "secondary"} text={status === "pending" ? "dark" : undefined}>{status}</Badge>
);

function Json({ value }: { value: unknown }) {
  return <pre className="nbx-json">{JSON.stringify(value ?? null, null, 2)}</pre>;
}

interface NodeProps {
  run: Run;
  nodeId: string;
  onRetry: (node: string) => void;
  onDecide: (node: string, verdict: "approve" | "reject", comment: string) => void;
}

function RunNodeDetail({ run, nodeId, onRetry, onDecide }: NodeProps) {
  const state = run.nodes[nodeId];
  const [log, setLog] = useState<string | null>(null);
  const [comment, setComment] = useState("");
  const status = state?.status;
  const logEvents = useEntry(logStore, nodeId);
  useEffect(() => {
    let live = true;
    if (!status || status === "pending" || status === "queued") return;
    const t = setTimeout(() => {
      Api.log(run.id, nodeId).then((text) => live && setLog(text)).catch(() => live && setLog(""));
    }, logEvents ? 200 : 0);
    return () => { live = false; clearTimeout(t); };
  }, [run.id, nodeId, status, state?.attempt, logEvents]);
  useEffect(() => setLog(null), [run.id, nodeId]);
  if (!state) return <p className="small text-body-secondary">Node {nodeId} has not started.</p>;
  return (
    <div className="small" data-testid="run-node">
      <div className="d-flex gap-2 align-items-center mb-1">
        <strong>{nodeId}</strong> <StatusBadge status={state.status} />
        <span>attempt {state.attempt}</span>
        {state.duration_s != null && <span>{formatDuration(state.duration_s)}</span>}
        {state.host && <span>on {state.host}</span>}
      </div>
      {state.error && <div className="alert alert-danger p-1 mb-1" data-testid="run-node-error">{state.error}</div>}
      {state.status === "failed" && (
        <Button size="sm" variant="warning" className="mb-1" onClick={() => onRetry(nodeId)}>Retry node</Button>
      )}
      {state.status === "waiting" && (
        <div className="mb-1">
          <Form.Control size="sm" placeholder="Comment" value={comment} className="mb-1"
                        onChange={(e) => setComment(e.target.value)} aria-label="Approval comment" />
          <ButtonGroup size="sm">
            <Button variant="success" onClick={() => onDecide(nodeId, "approve", comment)}>Approve</Button>
            <Button variant="danger" onClick={() => onDecide(nodeId, "reject", comment)}>Reject</Button>
          </ButtonGroup>
        </div>
      )}
      <div className="fw-semibold">Inputs</div><Json value={state.inputs} />
      <div className="fw-semibold">Outputs</div><Json value={state.outputs} />
      <div className="fw-semibold">Log</div>
      <pre className="nbx-json" data-testid="run-node-log">{log ?? "…"}</pre>
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
  return (
    <div data-testid="run-panel">
      {run ? (
        <div className="mb-2">
          <div className="d-flex align-items-center gap-2 flex-wrap">
            <span className="small">Run <code>{run.id.slice(0, 8)}</code></span>
            <span data-testid="run-status"><StatusBadge status={run.status} /></span>
            {run.status === "running" && <Button size="sm" variant="outline-danger" onClick={onCancel}>Cancel run</Button>}
            <Button size="sm" variant="outline-secondary" onClick={onClose}>Close</Button>
          </div>
          {run.error && <div className="alert alert-danger p-1 small mt-1">{run.error}</div>}
          <div className="small text-body-secondary">
            revision {run.revision ?? "-"} · started {formatTime(run.started_at ?? run.created_at)}
            {run.finished_at && ` · finished ${formatTime(run.finished_at)}`}
          </div>
          <hr className="my-2" />
          {nodeId ? <RunNodeDetail run={run} nodeId={nodeId} onRetry={onRetry} onDecide={onDecide} />
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
