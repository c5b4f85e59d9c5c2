import { ListGroup } from "react-bootstrap";
import type { Hint } from "../lib/hints";
import type { Problem } from "../types";

export function ProblemsPanel({ problems, hints, onFocus }:
    { problems: Problem[]; hints: Hint[]; onFocus: (node: string) => void }) {
  return (
    <>
      {problems.length ? (
        <ListGroup variant="flush" className="small" data-testid="problems">
          {problems.map((p, i) => (
            <ListGroup.Item key={i} action={!!p.node} onClick={() => p.node && onFocus(p.node)}
                            className="py-1 px-2" data-testid="problem">
              <span className="text-danger fw-semibold">{p.node ?? "graph"}{p.port ? ` · ${p.port}` : ""}</span>{" "}
              {p.message} <span className="text-body-secondary">({p.code})</span>
            </ListGroup.Item>
          ))}
        </ListGroup>
      ) : <p className="text-success small" data-testid="no-problems">No problems found.</p>}
      {hints.length > 0 && (
        <>
          <div className="small fw-semibold px-2 pt-2">Hints: valid, but probably not what a rollout means</div>
          <ListGroup variant="flush" className="small" data-testid="hints">
            {hints.map((h, i) => (
              <ListGroup.Item key={i} action onClick={() => onFocus(h.node)} className="py-1 px-2" data-testid="hint">
                <span className="text-warning-emphasis fw-semibold">{h.node}</span> {h.message}
              </ListGroup.Item>
            ))}
          </ListGroup>
        </>
      )}
    </>
  );
}
