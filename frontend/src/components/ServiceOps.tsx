// Under a row of the Releases panel: roll back (plan first, then run), pin / unpin each staged
// release, the service's deploy history, and its log followed live through the host's agent.
import { useEffect, useState } from "react";
import { Alert, Badge, Button, Table } from "react-bootstrap";
import { Api } from "../api/client";
import { formatTime } from "../lib/format";
import type { ReleaseRow } from "../lib/releases";
import type { HistoryEntry, PlanResult } from "../types";
import { PlanDialog } from "./PlanDialog";

export const LOG_POLL_MS = 1000;
export const LOG_KEEP_CHARS = 200_000; // the view keeps the end of a long log, not all of it

type Target = { host: string; service: string; instance?: string };
const target = (r: ReleaseRow): Target => ({ host: r.host, service: r.service ?? "", ...(r.instance ? { instance: r.instance } : {}) });

/** Plan the rollback, show it as the Plan dialog does, then run it on demand. */
type OpenRun = ((id: string) => void) | undefined;
const RunId = ({ id, onOpenRun }: { id: string; onOpenRun: OpenRun }) =>
  onOpenRun ? <Button size="sm" variant="link" className="p-0 align-baseline" onClick={() => onOpenRun(id)}>{id}</Button> : <code>{id}</code>;

/** `to`: an earlier staged release chosen in the history; default: the one before the last switch. */
function Rollback({ r, onError, onOpenRun, to }: { r: ReleaseRow; onError: (e: string) => void; onOpenRun: OpenRun; to?: string }) {
  const [plan, setPlan] = useState<PlanResult | null>(null);
  const [loading, setLoading] = useState(false);
  const [started, setStarted] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const body = { ...target(r), ...(to ? { release: to } : {}) };
  const ask = () => {
    setLoading(true);
    Api.planRollback(body).then(setPlan, (e: Error) => onError(e.message)).finally(() => setLoading(false));
  };
  const run = () => {
    setBusy(true);
    Api.rollback(body).then((x) => { setStarted(x.id); setPlan(null); },
      (e: Error) => onError(e.message)).finally(() => setBusy(false));
  };
  return (<>
    {to ? <Button size="sm" variant="link" className="p-0 text-danger" disabled={loading} onClick={ask}
      data-testid={`rollback-to-${to}`}>Roll back to this…</Button>
      : <Button size="sm" variant="outline-danger" disabled={!r.previous || loading} onClick={ask} data-testid="rollback-plan">
        Roll back to {r.previous ?? "(no previous release)"}…</Button>}
    {started && <span className="ms-2 small" data-testid="rollback-started">rollback run <RunId id={started} onOpenRun={onOpenRun} /> started</span>}
    <PlanDialog plan={plan} loading={loading} onHide={() => { setPlan(null); setLoading(false); }}
      action={{ label: `Run the rollback${to ? ` to ${to}` : ""} on ${r.host}`, onClick: run, busy }} />
  </>);
}

function Pins({ r, onError }: { r: ReleaseRow; onError: (e: string) => void }) {
  const [pinned, setPinned] = useState<Record<string, boolean>>({});
  const toggle = (id: string, now: boolean) =>
    Api.pinRelease({ host: r.host, service: r.service ?? "", release: id, pinned: !now })
      .then((x) => setPinned((p) => ({ ...p, [x.release]: x.pinned })), (e: Error) => onError(e.message));
  return (
    <Table size="sm" className="small mb-2" data-testid="release-pins">
      <thead><tr><th>release</th><th>staged</th><th /></tr></thead>
      <tbody>{(r.releases ?? []).map((x) => {
        const now = pinned[x.id] ?? !!x.pinned;
        return (<tr key={x.id}><td>{x.id}{x.id === r.active && <Badge bg="success" className="ms-1">active</Badge>}
          {now && <Badge bg="info" className="ms-1">pinned</Badge>}</td>
          <td>{x.staged_at ? formatTime(new Date(x.staged_at * 1000).toISOString()) : "–"}</td>
          <td><Button size="sm" variant="link" className="p-0" onClick={() => void toggle(x.id, now)}
            data-testid={`pin-${x.id}`}>{now ? "Unpin" : "Pin"}</Button></td></tr>);
      })}</tbody>
    </Table>
  );
}

/** Newest first; the newest switch to each earlier release still staged offers "Roll back to this". */
function History({ r, onOpenRun, onError }: { r: ReleaseRow; onOpenRun: OpenRun; onError: (e: string) => void }) {
  const [rows, setRows] = useState<HistoryEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    Api.serviceHistory(r.host, r.service ?? "", r.instance).then(setRows, (e: Error) => setError(e.message));
  }, [r.host, r.service, r.instance]);
  if (error) return <div className="text-danger small">{error}</div>;
  if (!rows) return null;
  const staged = new Set((r.releases ?? []).map((x) => x.id));
  const offered = new Set<string>();
  const offer = (to: string | null | undefined) => {
    if (!to || to === r.active || !staged.has(to) || offered.has(to)) return false;
    offered.add(to);
    return true;
  };
  return (
    <Table size="sm" className="small mb-2" data-testid="release-history">
      <thead><tr><th>when</th><th>from</th><th>to</th><th>run</th><th /></tr></thead>
      <tbody>{rows.map((h) => (<tr key={`${h.run.id}/${h.run.node}`}>
        <td>{h.at ? formatTime(h.at) : "–"}</td><td>{h.from ?? "–"}</td><td>{h.to ?? "–"}</td>
        <td><RunId id={h.run.id} onOpenRun={onOpenRun} /> {h.run.graph_name} r{h.run.revision}
          {h.run.started_by && <> by {h.run.started_by}</>}</td>
        <td>{offer(h.to) && <Rollback r={r} to={h.to!} onError={onError} onOpenRun={onOpenRun} />}</td></tr>))}
        {!rows.length && <tr><td colSpan={5} className="text-body-secondary">No stored run switched it.</td></tr>}
      </tbody>
    </Table>
  );
}

/** Follows the log: asks for what came since the last offsets every LOG_POLL_MS while shown. */
export function ServiceLog({ r }: { r: ReleaseRow }) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let alive = true;
    let offsets: { out?: number; err?: number } = {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = () => Api.serviceLog(r.host, r.service ?? "", r.instance, offsets).then((got) => {
      if (!alive) return;
      offsets = { out: got.streams.out?.offset, err: got.streams.err?.offset };
      const more = (got.streams.out?.text ?? "") + (got.streams.err?.text ?? "");
      if (more) setText((t) => (t + more).slice(-LOG_KEEP_CHARS));
      setError(null);
      timer = setTimeout(read, LOG_POLL_MS);
    }, (e: Error) => { if (alive) { setError(e.message); timer = setTimeout(read, LOG_POLL_MS * 3); } });
    void read();
    return () => { alive = false; clearTimeout(timer); };
  }, [r.host, r.service, r.instance]);
  return (<>
    {error && <div className="text-danger small">{error}</div>}
    <pre className="small bg-body-tertiary p-2 mb-0" style={{ maxHeight: 300, overflow: "auto" }}
      data-testid="service-log">{text || "(nothing written yet)"}</pre>
  </>);
}

export function ServiceOps({ r, onOpenRun }: { r: ReleaseRow; onOpenRun?: (id: string) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [log, setLog] = useState(false);
  return (
    <div data-testid="service-ops">
      {error && <Alert variant="danger" className="p-1 small" onClose={() => setError(null)} dismissible>{error}</Alert>}
      <div className="mb-2"><Rollback r={r} onError={setError} onOpenRun={onOpenRun} />{" "}
        <Button size="sm" variant="outline-secondary" onClick={() => setLog(!log)} data-testid="service-log-toggle">
          {log ? "Stop following the log" : "Follow the log"}</Button></div>
      {log && <ServiceLog r={r} />}
      <Pins r={r} onError={setError} />
      <History r={r} onOpenRun={onOpenRun} onError={setError} />
    </div>
  );
}
