// GET /api/releases, refreshed every few seconds while shown: per host and service what runs,
// what ran before, what is prepared, pinned, committed or rolled back, config, health, phase.
import { useEffect, useState } from "react";
import { Badge, Button, Modal, Spinner, Table } from "react-bootstrap";
import { Api } from "../api/client";
import { formatTime } from "../lib/format";
import type { ReleaseEntry, ReleaseRow } from "../lib/releases";
import { ServiceOps } from "./ServiceOps";
import { WhyView } from "./WhyView";

export const RELEASES_REFRESH_MS = 3000;

const names = (list: ReleaseEntry[] | undefined, pick: (r: ReleaseEntry) => unknown) =>
  (list ?? []).filter(pick).map((r) => r.id).join(", ") || "–";

/** `oci:NAME@sha256:HEX` as "podman NAME@sha256:<12 hex>": enough to tell two images apart. */
const shortImage = (image: string, runtime?: string | null) =>
  `${runtime ? `${runtime} ` : ""}${image.replace(/^oci:/, "").replace(/(sha256:[0-9a-f]{12})[0-9a-f]+$/, "$1")}`;

function Health({ h }: { h: ReleaseRow["health"] }) {
  if (!h || h.ok === null || h.ok === undefined) return <span className="text-body-secondary">unknown</span>;
  return h.ok ? <Badge bg="success">healthy</Badge>
    : <Badge bg="danger" title={h.error ?? undefined}>unhealthy</Badge>;
}

/** The liveness watcher's status (restarts, since when, last probe), when the service has a probe. */
function Liveness({ l }: { l: ReleaseRow["liveness"] }) {
  if (!l) return null;
  const bg = l.status === "alive" ? "success" : l.status === "unhealthy" ? "danger" : "warning";
  const title = [l.since && `since ${l.since}`, l.last_probe && `last probe ${l.last_probe.error ?? "ok"}`]
    .filter(Boolean).join(", ");
  return (
    <div data-testid="release-liveness" title={title}>
      <Badge bg={bg} text={bg === "warning" ? "dark" : undefined}>{l.status}</Badge>
      {l.since && <span className="text-body-secondary"> since {formatTime(l.since)}</span>}
      {!!l.restarts && <span className="text-body-secondary">, {l.restarts} restart{l.restarts > 1 ? "s" : ""}</span>}
    </div>
  );
}

function Row({ r, onOpenRun }: { r: ReleaseRow; onOpenRun?: (id: string) => void }) {
  const built = r.releases?.find((x) => x.id === r.active && x.commit);
  const [why, setWhy] = useState(false);
  const [ops, setOps] = useState(false);
  return (<>
    <tr data-testid={`release-${r.host}-${r.service}${r.instance ? `-${r.instance}` : ""}`}>
      <td>{r.host}{r.host_state && r.host_state !== "up" && <Badge bg="warning" text="dark" className="ms-1">{r.host_state}</Badge>}
        {r.seen_at && <div className="text-body-secondary" data-testid="release-seen"
          title="when the host's agent last looked at this service">seen {formatTime(r.seen_at)}</div>}</td>
      <td>{r.service}{r.instance ? <span className="text-body-secondary"> / {r.instance}</span> : null}</td>
      <td data-testid="release-active"><strong>{r.active ?? "–"}</strong>
        {built && <div className="text-body-secondary" title={`build run ${built.build_run ?? ""}`}>commit {built.commit?.slice(0, 10)}</div>}
        {r.image && <div className="text-body-secondary" data-testid="release-image" title={r.image}>
          {shortImage(r.image, r.runtime)}</div>}</td>
      <td>{r.previous ?? "–"}</td>
      <td>{r.prepared ?? "–"}</td>
      <td>{names(r.releases, (x) => x.pinned)}</td>
      <td>{names(r.releases, (x) => x.committed_at)}</td>
      <td>{names(r.releases, (x) => x.rolled_back)}</td>
      <td><code>{r.config_version ?? "–"}</code></td>
      <td><Health h={r.health} /><Liveness l={r.liveness} /></td>
      <td data-testid="release-phase">{r.phase ?? "–"}{r.error && <div className="text-danger">{r.error}</div>}</td>
      <td><Button size="sm" variant="link" className="p-0" onClick={() => setWhy(!why)}>{why ? "Hide" : "Why?"}</Button>
        {" "}<Button size="sm" variant="link" className="p-0" onClick={() => setOps(!ops)} data-testid="release-ops">
          {ops ? "Close" : "Roll back, pin, log…"}</Button></td>
    </tr>
    {ops && r.service && <tr><td colSpan={12}><ServiceOps r={r} onOpenRun={onOpenRun} /></td></tr>}
    {why && r.service && <tr><td colSpan={12}><WhyView host={r.host} service={r.service} instance={r.instance} /></td></tr>}
  </>);
}

/** Rows refreshed every few seconds while `live`. */
function useReleases(live: boolean) {
  const [rows, setRows] = useState<ReleaseRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [at, setAt] = useState<string | null>(null);
  useEffect(() => {
    if (!live) return;
    let alive = true;
    const load = () => Api.releases().then((r) => {
      if (!alive) return;
      setRows(r);
      setError(null);
      setAt(new Date().toISOString());
    }, (e: Error) => alive && setError(e.message));
    void load();
    const t = setInterval(load, RELEASES_REFRESH_MS);
    return () => { alive = false; clearInterval(t); };
  }, [live]);
  return { rows, error, at };
}

/** ``onOpenRun``: show a run (a rollback started here, one of a service's history) in the editor. */
export function ReleasesPanel({ show, onHide, onOpenRun }: { show: boolean; onHide: () => void; onOpenRun?: (id: string) => void }) {
  const { rows, error, at } = useReleases(show);
  return (
    <Modal show={show} onHide={onHide} size="xl" scrollable data-testid="releases-dialog">
      <Modal.Header closeButton><Modal.Title>Releases</Modal.Title></Modal.Header>
      <Modal.Body>
        <p className="small mb-2 text-body-secondary">
          As each host&apos;s agent last reported; refreshed every {RELEASES_REFRESH_MS / 1000} s
          {at && <> (last {formatTime(at)})</>}.
        </p>
        {error && <div className="alert alert-danger p-1 small">{error}</div>}
        {rows === null ? <Spinner size="sm" animation="border" /> : (
          <Table size="sm" hover className="small" data-testid="releases-table">
            <thead>
              <tr><th>host</th><th>service</th><th>active</th><th>previous</th><th>prepared</th><th>pinned</th>
                <th>committed</th><th>rolled back</th><th>config</th><th>health</th><th>rollout phase</th><th /></tr>
            </thead>
            <tbody>
              {rows.map((r) => <Row key={`${r.host}/${r.service}/${r.instance ?? ""}`} r={r} onOpenRun={onOpenRun} />)}
              {!rows.length && <tr><td colSpan={12} className="text-body-secondary">No service reported yet.</td></tr>}
            </tbody>
          </Table>
        )}
      </Modal.Body>
      <Modal.Footer><Button onClick={onHide}>Close</Button></Modal.Footer>
    </Modal>
  );
}
