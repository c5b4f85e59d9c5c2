import { memo } from "react";
import { Button } from "react-bootstrap";
import type { TrailStep } from "../hooks/useCompositeTrail";

/** Outer graphs left to open a composite, then the graph shown; a click goes back. */
function BreadcrumbView({ trail, current, revision, readOnly, onBack }: {
  trail: TrailStep[]; current: string; revision: number | null; readOnly: boolean; onBack: (index: number) => void;
}) {
  if (!trail.length) return null;
  return (
    <nav className="nbx-breadcrumb small" aria-label="Composite path" data-testid="breadcrumb">
      {trail.map((s, i) => (
        <span key={`${s.id}@${s.revision}:${i}`}>
          <Button variant="link" size="sm" className="p-0 align-baseline" data-testid={`crumb-${i}`}
                  title={`Back to ${s.name} (revision ${s.revision})`} onClick={() => onBack(i)}>
            {s.name}
          </Button>
          <span className="mx-1">›</span>
        </span>
      ))}
      <strong>{current}</strong>
      {revision !== null && <span className="text-body-secondary"> rev {revision}{readOnly ? " (read-only)" : ""}</span>}
    </nav>
  );
}

export const Breadcrumb = memo(BreadcrumbView);
