import { ListGroup } from "react-bootstrap";
import type { Problem } from "../types";

export function ProblemsPanel({ problems, onFocus }: { problems: Problem[]; onFocus: (node: string) => void }) {
  if (!problems.length) return <p className="text-success small" data-testid="no-problems">No problems found.</p>;
  return (
    <ListGroup variant="flush" className="small" data-testid="problems">
      {problems.map((p, i) => (
        <ListGroup.Item key={i} action={!!p.node} onClick={() => p.node && onFocus(p.node)}
                        className="py-1 px-2" data-testid="problem">
          <span className="text-danger fw-semibold">{p.node ?? "graph"}{p.port ? ` · ${p.port}` : ""}</span>{" "}
          {p.message} <span className="text-body-secondary">({p.code})</span>
        </ListGroup.Item>
      ))}
    </ListGroup>
  );
}
