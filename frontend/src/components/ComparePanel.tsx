import { useState } from "react";
import { Button, Form } from "react-bootstrap";
import type { Compare } from "../hooks/useCompare";
import { RevisionDiff } from "./RevisionDiff";

const show = (v: unknown) => (v === null || v === undefined ? "(unset)" : JSON.stringify(v));

interface Props {
  compare: Compare;
  revision: number | null;
  latest: number | null;
  /** The node selected on the canvas: its own parameter diff is shown first. */
  selected: string | null;
}

/** Compare the revision on the canvas with another: the canvas colours added (green), changed
 *  (amber) and removed nodes (red ghosts); here the whole diff and the selected node's. */
export function ComparePanel({ compare, revision, latest, selected }: Props) {
  const [from, setFrom] = useState<number | null>(null);
  if (revision === null || !latest) return <p className="small text-body-secondary">Save the graph to compare its revisions.</p>;
  const others = Array.from({ length: latest }, (_, i) => i + 1).filter((n) => n !== revision);
  const pick = from ?? (revision > 1 ? revision - 1 : others[0]);
  const mine = compare.diff?.nodes.changed.find((n) => n.id === selected);
  return (
    <div className="small" data-testid="compare-panel">
      <div className="d-flex gap-1 align-items-center mb-2">
        <span>Revision {revision} against</span>
        <Form.Select size="sm" style={{ width: "6em" }} aria-label="Compare with revision" value={pick ?? ""}
                     disabled={!others.length} onChange={(e) => setFrom(Number(e.target.value))}>
          {others.map((n) => <option key={n} value={n}>{n}</option>)}
        </Form.Select>
        <Button size="sm" variant="outline-primary" disabled={!pick} onClick={() => pick && void compare.start(pick)}>Compare</Button>
        {compare.diff && <Button size="sm" variant="outline-secondary" onClick={compare.stop}>Stop</Button>}
      </div>
      {compare.diff && selected && (
        <div className="mb-2" data-testid="compare-node">
          <div className="fw-semibold">Node {selected}</div>
          {mine ? (
            <ul className="list-unstyled ms-2 nbx-diff-changed">
              {mine.changes.map((c) => <li key={c.field}><code>{c.field}</code>: {show(c.before)} → {show(c.after)}</li>)}
            </ul>
          ) : <div className="text-body-secondary">
              {compare.diff.nodes.added.some((n) => n.id === selected) ? "added in this revision" : "unchanged"}
            </div>}
        </div>
      )}
      {compare.diff && <RevisionDiff diff={compare.diff} />}
    </div>
  );
}
