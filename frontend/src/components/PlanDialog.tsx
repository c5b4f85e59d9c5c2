// The answer of POST /api/graphs/plan: per node (per item, host and batch; a composite's inner
// nodes) what a run would do, values only a run can know shown as such.
import { Fragment, useState } from "react";
import { Badge, Button, Modal, Spinner, Table } from "react-bootstrap";
import { shortJson } from "../lib/format";
import { byBatch, isPlaceholder, nodeVerdict, planDetails, VERDICT_LABEL, type PlanEntry, type PlanResult,
  type Verdict } from "../lib/plan";

const VARIANT: Record<Verdict, string> = { change: "primary", none: "success", unknown: "secondary", fail: "danger" };

export function VerdictBadge({ verdict }: { verdict: Verdict }) {
  return <Badge bg={VARIANT[verdict]} data-testid="plan-verdict" className={`nbx-plan-${verdict}`}>{VERDICT_LABEL[verdict]}</Badge>;
}

/** A value, or a placeholder for what only a run can know. */
function Value({ value }: { value: unknown }) {
  if (isPlaceholder(value)) return <span className="nbx-placeholder" title="known only when the graph runs">{value}</span>;
  if (Array.isArray(value) && value.some(isPlaceholder)) {
    return <>[{value.map((v, i) => <Fragment key={i}>{i ? ", " : ""}<Value value={v} /></Fragment>)}]</>;
  }
  return <code>{shortJson(value)}</code>;
}

function Inputs({ inputs }: { inputs?: Record<string, unknown> }) {
  const entries = Object.entries(inputs ?? {});
  if (!entries.length) return null;
  return (
    <details className="small">
      <summary>inputs</summary>
      <ul className="list-unstyled mb-0 ms-2">
        {entries.map(([k, v]) => <li key={k}><code>{k}</code>: <Value value={v} /></li>)}
      </ul>
    </details>
  );
}

/** What the run changes on the host: release, config (each file's diff folded), restart,
 *  balancer, snapshot; as `nebhx plan` prints them. */
function Details({ entry }: { entry: PlanEntry }) {
  const { lines, files } = planDetails(entry);
  if (!lines.length && !files.length) return null;
  return (
    <div className="small text-body-secondary" data-testid="plan-details">
      {lines.map((line) => <div key={line}>{line}</div>)}
      {files.map((f) => (
        <details key={f.file} data-testid="plan-diff">
          <summary><code>{f.file}</code> {f.change}</summary>
          <pre className="mb-1 small">{f.diff}</pre>
        </details>
      ))}
    </div>
  );
}

function Effect({ entry }: { entry: PlanEntry }) {
  return (
    <>
      <span data-testid="plan-effect" className={entry.effect === "unknown effect" ? "fst-italic text-body-secondary" : undefined}>
        {entry.effect}
      </span>
      {entry.when && <span className="text-warning-emphasis"> ({entry.when})</span>}
      <Details entry={entry} />
      <Inputs inputs={entry.inputs} />
    </>
  );
}

/** One node's row, then its items by batch, or its inner nodes, indented. */
function Rows({ id, entry, depth }: { id: string; entry: PlanEntry; depth: number }) {
  const pad = { paddingLeft: `${0.3 + depth * 1.2}rem` };
  return (
    <>
      <tr data-testid={`plan-node-${id}`}>
        <td style={pad}><code>{id}</code><div className="text-body-secondary">{entry.brick}</div></td>
        <td><VerdictBadge verdict={nodeVerdict(entry)} /></td>
        <td>{entry.host !== undefined && <Value value={entry.host} />}</td>
        <td><Effect entry={entry} /></td>
      </tr>
      {entry.items && byBatch(entry.items).map(([batch, items]) => items.map((it, i) => (
        <tr key={it.id} data-testid={`plan-item-${it.id}`} className="nbx-plan-item">
          <td style={{ paddingLeft: `${1.5 + depth * 1.2}rem` }}>
            <code>{it.id}</code>{(entry.batches ?? 1) > 1 && i === 0 && <Badge bg="light" text="dark" className="ms-1">batch {batch}</Badge>}
          </td>
          <td><VerdictBadge verdict={nodeVerdict(it)} /></td>
          <td><Value value={it.host ?? it.item} /></td>
          <td><Effect entry={it} /></td>
        </tr>
      )))}
      {entry.children && Object.entries(entry.children).map(([cid, c]) => <Rows key={cid} id={cid} entry={c} depth={depth + 1} />)}
    </>
  );
}

/** ``action``: a button that acts on what the plan shows (e.g. run the rollback it planned). */
export function PlanDialog({ plan, loading, onHide, action }: {
  plan: PlanResult | null; loading: boolean; onHide: () => void;
  action?: { label: string; onClick: () => void; busy?: boolean };
}) {
  const [onlyChanges, setOnlyChanges] = useState(false);
  const shown = Object.entries(plan?.nodes ?? {}).filter(([, e]) => !onlyChanges || nodeVerdict(e) !== "none");
  return (
    <Modal show={loading || plan !== null} onHide={onHide} size="xl" scrollable data-testid="plan-dialog">
      <Modal.Header closeButton><Modal.Title>Plan{plan ? `: ${plan.graph}` : ""}</Modal.Title></Modal.Header>
      <Modal.Body>
        {loading && !plan ? <Spinner size="sm" animation="border" /> : (
          <>
            <p className="small mb-2">
              What a run would do now, changing nothing. <span className="nbx-placeholder">(from node.port)</span> is a
              value only the run will know; bricks that cannot tell say <em>unknown effect</em>.
              {plan?.elapsed_s !== undefined && ` Planned in ${Math.round(plan.elapsed_s * 1000)} ms.`}
            </p>
            <Table size="sm" className="small nbx-plan-table" data-testid="plan-table">
              <thead><tr><th>node</th><th>verdict</th><th>host / item</th><th>effect</th></tr></thead>
              <tbody>{shown.map(([id, e]) => <Rows key={id} id={id} entry={e} depth={0} />)}</tbody>
            </Table>
          </>
        )}
      </Modal.Body>
      <Modal.Footer>
        <Button variant="outline-secondary" size="sm" onClick={() => setOnlyChanges((v) => !v)}>
          {onlyChanges ? "Show every node" : "Hide nodes with no change"}
        </Button>
        {action && plan && <Button variant="danger" disabled={action.busy} onClick={action.onClick}
          data-testid="plan-action">{action.label}</Button>}
        <Button onClick={onHide}>Close</Button>
      </Modal.Footer>
    </Modal>
  );
}
