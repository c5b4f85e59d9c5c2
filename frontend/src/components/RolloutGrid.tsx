// A run that fans out over hosts: hosts (rows) x the nodes that fan out over them (columns),
// filled from the run as its events come in. At fleet size (100 hosts and more) the header
// counts each phase's states, the rows scroll under a sticky header, and a filter keeps only
// the hosts that need a look (anything not succeeded) or whose name matches.
import { memo, useMemo, useState } from "react";
import { Form, Table } from "react-bootstrap";
import { usePalette } from "../lib/palette";
import { type Grid, rolloutGrid, stepsText } from "../lib/releases";
import type { Run, RunNode } from "../types";
import { StatusMark } from "./StatusBadge";

/** How many hosts of a phase are in each state, in the order the states first show. */
function phaseCounts(grid: Grid, phase: string): [string, number][] {
  const counts = new Map<string, number>();
  for (const h of grid.hosts) {
    const status = grid.cell(h, phase)?.status;
    if (status) counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  return [...counts];
}

/** A phase's counts: an icon and a number per state, one a line (the words for screen readers). */
function PhaseCounts({ counts }: { counts: [string, number][] }) {
  return (
    <>
      {counts.map(([s, n]) => <div key={s} className="nbx-grid-count" aria-hidden="true"><StatusMark status={s} /> {n}</div>)}
      <span className="visually-hidden">{counts.map(([s, n]) => `${n} ${s}`).join(" · ")}</span>
    </>
  );
}

/** The states the grid shows, each icon with its name once. */
function Legend({ grid }: { grid: Grid }) {
  const seen = [...new Set(grid.phases.flatMap((p) => grid.hosts.map((h) => grid.cell(h, p)?.status ?? "")))]
    .filter((s) => s !== "");
  return (
    <div className="d-flex flex-wrap gap-2 small text-body-secondary" data-testid="grid-legend">
      {seen.map((s) => <span key={s}><span aria-hidden="true"><StatusMark status={s} /></span> {s}</span>)}
      <span>– not on the host</span>
    </div>
  );
}

function needsLook(grid: Grid, host: string): boolean {
  return grid.phases.some((p) => { const s = grid.cell(host, p)?.status; return !!s && s !== "succeeded"; });
}

function RolloutGridView({ run }: { run: Run }) {
  const { byId } = usePalette();
  const [query, setQuery] = useState("");
  const [onlyLook, setOnlyLook] = useState(false);
  // A node fans out over hosts when its brick runs on a host (its host input); unknown bricks count too.
  const grid = useMemo(() => rolloutGrid(run, (n: RunNode) => !n.brick || !!byId.get(n.brick)?.host_input
                                                              || !byId.has(n.brick)), [run, byId]);
  const shown = useMemo(() => grid?.hosts.filter((h) => h.includes(query.trim()) && (!onlyLook || needsLook(grid, h))) ?? [],
                        [grid, query, onlyLook]);
  if (!grid) return null;
  return (
    <div className="mb-2">
      <div className="small">
        <span className="fw-semibold">Rollout: hosts × phases</span>{" "}
        <span className="text-body-secondary" data-testid="grid-shown">({shown.length} of {grid.hosts.length} hosts)</span>
      </div>
      {grid.hosts.length > 10 && (
        <div className="d-flex flex-wrap align-items-center gap-2 small my-1">
          <Form.Control size="sm" className="nbx-grid-filter" placeholder="host name…" value={query}
                        onChange={(e) => setQuery(e.target.value)} data-testid="grid-filter" aria-label="Filter hosts" />
          <Form.Check type="switch" id="grid-only-look" label="not succeeded only" checked={onlyLook}
                      onChange={(e) => setOnlyLook(e.target.checked)} data-testid="grid-only-look" />
        </div>)}
      <Legend grid={grid} />
      <div className="nbx-grid-scroll">
        <Table size="sm" bordered className="small mb-1 nbx-rollout-grid" data-testid="rollout-grid">
          <thead><tr><th>host</th>{grid.phases.map((p) => (
            <th key={p}><code>{p}</code><div className="fw-normal" data-testid={`grid-count-${p}`}>
              <PhaseCounts counts={phaseCounts(grid, p)} /></div></th>))}</tr></thead>
          <tbody>
            {shown.map((h) => (
              <tr key={h} data-testid={`grid-host-${h}`}>
                <th>{h}</th>
                {grid.phases.map((p) => {
                  const it = grid.cell(h, p);
                  const steps = stepsText(it);
                  return (
                    <td key={p} title={it ? `${it.id}: ${it.status}${steps ? `\n${steps}` : ""}${it.error ? `\n${it.error}` : ""}` : "not on this host"}
                        data-testid={`grid-${h}-${p}`}>
                      {it ? <StatusMark status={it.status} /> : <span className="text-body-secondary">–</span>}
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
