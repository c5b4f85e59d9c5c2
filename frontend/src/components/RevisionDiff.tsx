import { useEffect, useState } from "react";
import { Api } from "../api/client";
import type { GraphDiff } from "../types";

const show = (v: unknown) => (v === null || v === undefined ? "(unset)" : JSON.stringify(v));

/** A diff of two revisions as lists: added (green), removed (red), changed (amber) with one
 *  line per field; secrets appear as their {"$secret": name} reference only. */
export function RevisionDiff({ diff }: { diff: GraphDiff }) {
  if (diff.same) return <div className="small text-body-secondary" data-testid="diff-same">No change between revisions {diff.from} and {diff.to}.</div>;
  const { nodes, edges, inputs } = diff;
  return (
    <ul className="small list-unstyled mb-1 nbx-diff" data-testid="revision-diff">
      {nodes.added.map((n) => <li key={`+${n.id}`} className="nbx-diff-added" data-testid="diff-added">+ node {n.id} ({n.brick})</li>)}
      {nodes.removed.map((n) => <li key={`-${n.id}`} className="nbx-diff-removed" data-testid="diff-removed">− node {n.id} ({n.brick})</li>)}
      {nodes.changed.map((n) => (
        <li key={`~${n.id}`} className="nbx-diff-changed" data-testid="diff-changed">
          ~ node {n.id}
          <ul className="list-unstyled ms-3">
            {n.changes.map((c) => <li key={c.field}><code>{c.field}</code>: {show(c.before)} → {show(c.after)}</li>)}
          </ul>
        </li>
      ))}
      {edges.added.map((e) => <li key={`+w${e}`} className="nbx-diff-added">+ wire {e}</li>)}
      {edges.removed.map((e) => <li key={`-w${e}`} className="nbx-diff-removed">− wire {e}</li>)}
      {inputs.added.map((i) => <li key={`+i${i}`} className="nbx-diff-added">+ input {i}</li>)}
      {inputs.removed.map((i) => <li key={`-i${i}`} className="nbx-diff-removed">− input {i}</li>)}
      {inputs.changed.map((i) => <li key={`~i${i.name}`} className="nbx-diff-changed">~ input {i.name}: {show(i.before)} → {show(i.after)}</li>)}
    </ul>
  );
}

/** On a run's page: what its revision changed against the previous run of the same graph. */
export function RunChanges({ runId }: { runId: string }) {
  const [diff, setDiff] = useState<GraphDiff | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setDiff(null);
    setError(null);
    Api.runDiff(runId).then((d) => live && setDiff(d), (e: Error) => live && setError(e.message));
    return () => { live = false; };
  }, [runId]);
  if (error) return <div className="small text-danger">Changes: {error}</div>;
  if (!diff) return null;
  return (
    <details className="mb-1" data-testid="run-changes" open={!diff.same}>
      <summary className="small">
        {diff.previous_run ? `Changes since run ${diff.previous_run.slice(0, 8)}` : "Changes"} (revision {diff.from} → {diff.to})
      </summary>
      <RevisionDiff diff={diff} />
    </details>
  );
}
