// GET /api/volumes, refreshed every few seconds while shown: per host each volume with its
// usage, retention rule and snapshots (time, kind, size, release). An operator deletes a
// snapshot or prunes a volume from here: each starts a one-node run on the volume's host.
import { useCallback, useEffect, useState } from "react";
import { Badge, Button, Form, InputGroup, Modal, Spinner, Table } from "react-bootstrap";
import { Api } from "../api/client";
import type { components } from "../api/schema";
import { useCan } from "../hooks/useAuth";
import { formatTime } from "../lib/format";

export type VolumeRow = components["schemas"]["VolumeRow"];
export type SnapshotEntry = components["schemas"]["SnapshotEntry"];
export const SNAPSHOTS_REFRESH_MS = 3000;

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

const rule = (r: VolumeRow["retention"]) => {
  const parts = [r?.keep_last != null && `last ${r.keep_last}`, r?.keep_days != null && `${r.keep_days} days`];
  return parts.filter(Boolean).join(", ") || "keep all";
};

interface Actions { onDelete: (v: VolumeRow, s: SnapshotEntry) => void; onPrune: (v: VolumeRow, keep: number) => void }

function Volume({ v, onDelete, onPrune }: { v: VolumeRow } & Actions) {
  const can = useCan();
  const [keep, setKeep] = useState(3);
  const snaps = v.snapshots ?? [];
  return (
    <tbody data-testid={`volume-${v.host}-${v.name}`}>
      <tr className="table-light">
        <td colSpan={4}>
          <strong>{v.name}</strong> <Badge bg="secondary">{v.driver}</Badge> on {v.host}
          {v.host_state !== "up" && <Badge bg="warning" text="dark" className="ms-1">{v.host_state}</Badge>}
          <span className="text-body-secondary ms-2" title={v.url}>
            {formatBytes(v.used)}{v.capacity ? ` of ${formatBytes(v.capacity)}` : ""} · retention: {rule(v.retention)}
          </span>
          {v.error && <div className="text-danger">{v.error}</div>}
        </td>
        <td colSpan={2}>
          <InputGroup size="sm">
            <InputGroup.Text>keep last</InputGroup.Text>
            <Form.Control type="number" min={0} value={keep} aria-label={`keep last of ${v.name}`}
                          onChange={(e) => setKeep(Math.max(0, Number(e.target.value) || 0))} />
            <Button variant="outline-warning" onClick={() => onPrune(v, keep)}
                    {...can("operator", "Remove the older snapshots (a rollout's stay)")}>Prune</Button>
          </InputGroup>
        </td>
      </tr>
      {snaps.map((s) => (
        <tr key={s.id} data-testid={`snapshot-${s.id}`}>
          <td><code>{s.id}</code></td>
          <td>{s.created_at ? formatTime(new Date(s.created_at * 1000).toISOString()) : "–"}</td>
          <td>{s.kind ?? "–"}</td>
          <td>{formatBytes(s.size)}</td>
          <td>{s.release ?? "–"}</td>
          <td><Button size="sm" variant="outline-danger" onClick={() => onDelete(v, s)}
                      {...can("operator", `Delete snapshot ${s.id}`)}>Delete</Button></td>
        </tr>
      ))}
      {!snaps.length && <tr><td colSpan={6} className="text-body-secondary">No snapshot.</td></tr>}
    </tbody>
  );
}

export function SnapshotsPanel({ show, onHide }: { show: boolean; onHide: () => void }) {
  const [rows, setRows] = useState<VolumeRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    if (!show) return;
    let alive = true;
    const load = () => Api.volumes().then((r) => { if (alive) { setRows(r); setError(null); } },
      (e: Error) => alive && setError(e.message));
    void load();
    const t = setInterval(load, SNAPSHOTS_REFRESH_MS);
    return () => { alive = false; clearInterval(t); };
  }, [show]);
  const started = useCallback((what: string) => (run: { id: string }) =>
    setNote(`${what}: run ${run.id.slice(0, 8)} started on the host; the list follows its next report.`), []);
  const fail = useCallback((e: Error) => setError(e.message), []);
  const onDelete = (v: VolumeRow, s: SnapshotEntry) =>
    Api.deleteSnapshot({ host: v.host, volume_url: v.url, snapshot: s.id })
      .then(started(`delete ${s.id} of ${v.name}`), fail);
  const onPrune = (v: VolumeRow, keep: number) =>
    Api.pruneSnapshots({ host: v.host, volume_url: v.url, keep_last: keep })
      .then(started(`prune ${v.name} to the last ${keep}`), fail);
  return (
    <Modal show={show} onHide={onHide} size="xl" scrollable data-testid="snapshots-dialog">
      <Modal.Header closeButton><Modal.Title>Volumes and snapshots</Modal.Title></Modal.Header>
      <Modal.Body>
        <p className="small mb-2 text-body-secondary">
          As each host&apos;s agent last reported; refreshed every {SNAPSHOTS_REFRESH_MS / 1000} s.
        </p>
        {error && <div className="alert alert-danger p-1 small">{error}</div>}
        {note && <div className="alert alert-info p-1 small" data-testid="snapshots-note">{note}</div>}
        {rows === null ? <Spinner size="sm" animation="border" /> : (
          <Table size="sm" className="small" data-testid="snapshots-table">
            <thead><tr><th>snapshot</th><th>taken</th><th>kind</th><th>size</th><th>release</th><th /></tr></thead>
            {rows.map((v) => <Volume key={`${v.host}/${v.url}`} v={v} onDelete={onDelete} onPrune={onPrune} />)}
            {!rows.length && <tbody><tr><td colSpan={6} className="text-body-secondary">No volume reported yet.</td></tr></tbody>}
          </Table>
        )}
      </Modal.Body>
      <Modal.Footer><Button onClick={onHide}>Close</Button></Modal.Footer>
    </Modal>
  );
}
