// A run that fans out over hosts: hosts (rows) x the nodes that fan out over them (columns),
// filled from the run as its events come in.
import { memo, useMemo } from "react";
import { Table } from "react-bootstrap";
import { usePalette } from "../lib/palette";
import { rolloutGrid, stepsText } from "../lib/releases";
import type { Run, RunNode } from "../types";
import { StatusBadge } from "./StatusBadge";

function RolloutGridView({ run }: { run: Run }) {
  const { byId } = usePalette();
  // A node fans out over hosts when its brick runs on a host (its host input); unknown bricks count too.
  const grid = useMemo(() => rolloutGrid(run, (n: RunNode) => !n.brick || !!byId.get(n.brick)?.host_input
                                                              || !byId.has(n.brick)), [run, byId]);
  if (!grid) return null;
  return (
    <div className="mb-2">
      <div className="small fw-semibold">Rollout: hosts × phases</div>
      <div className="nbx-grid-scroll">
        <Table size="sm" bordered className="small mb-1 nbx-rollout-grid" data-testid="rollout-grid">
          <thead><tr><th>host</th>{grid.phases.map((p) => <th key={p}><code>{p}</code></th>)}</tr></thead>
          <tbody>
            {grid.hosts.map((h) => (
              <tr key={h} data-testid={`grid-host-${h}`}>
                <th>{h}</th>
                {grid.phases.map((p) => {
                  const it = grid.cell(h, p);
                  const steps = stepsText(it);
                  return (
                    <td key={p} title={it ? `${it.id}: ${it.status}${steps ? `\n${steps}` : ""}${it.error ? `\n${it.error}` : ""}` : "not on this host"}
                        data-testid={`grid-${h}-${p}`}>
                      {it ? <StatusBadge status={it.status} /> : <span className="text-body-secondary">–</span>}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </Table>
      </div>
    </div>
  );
}

export const RolloutGrid = memo(RolloutGridView);
