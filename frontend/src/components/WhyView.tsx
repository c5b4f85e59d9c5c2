import { useEffect, useState } from "react";
import { Spinner } from "react-bootstrap";
import { Api } from "../api/client";
import type { Why } from "../types";

type Link = Why["switched_by"];

const run = (l: Link) => (l ? `run ${l.id.slice(0, 8)} (${l.node}) of ${l.graph_name ?? l.graph} revision ${l.revision}`
  + (l.started_by ? `, started by ${l.started_by}` : "") : "not found");

/** The chain from a service's process back to the people who approved it (one row per link). */
export function WhyView({ host, service, instance }: { host: string; service: string; instance?: string | null }) {
  const [why, setWhy] = useState<Why | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    Api.why(host, service, instance).then((w) => live && setWhy(w), (e: Error) => live && setError(e.message));
    return () => { live = false; };
  }, [host, service, instance]);
  if (error) return <div className="text-danger">{error}</div>;
  if (!why) return <Spinner size="sm" animation="border" />;
  const p = why.process, r = why.release, c = why.config, d = why.data;
  const files = Object.entries((c.files ?? {}) as Record<string, string>);
  const explain = Object.entries((c.explain ?? {}) as Record<string, { value: unknown; layer: string }>);
  return (
    <dl className="row mb-0 small" data-testid="why">
      <dt className="col-2">process</dt><dd className="col-10">pid {String(p.pid)} ({String(p.state)}) since {String(p.since ?? "–")}</dd>
      <dt className="col-2">release</dt>
      <dd className="col-10">{String(r.id)} from <code>{String(r.source ?? "–")}</code> sha256 <code>{String(r.sha256 ?? "–").slice(0, 16)}</code>
        {r.commit ? ` · commit ${String(r.commit).slice(0, 10)}, build run ${String(r.build_run)}` : ""}</dd>
      <dt className="col-2">config</dt>
      <dd className="col-10"><code>{String(c.version ?? "–")}</code>{c.missing ? ` (${String(c.missing)})` : ""}
        {files.map(([f, h]) => <div key={f}>{f}: sha256 <code>{h.slice(0, 16)}</code></div>)}
        {explain.map(([k, v]) => <div key={k}><code>{k}</code> = {JSON.stringify(v.value)} from {v.layer}</div>)}</dd>
      <dt className="col-2">data</dt>
      <dd className="col-10">{String(d.volume ?? "–")}{d.snapshot_at_switch ? `, snapshot ${String(d.snapshot_at_switch)}` : ""}</dd>
      <dt className="col-2">switched by</dt><dd className="col-10" data-testid="why-run">{run(why.switched_by)}</dd>
      <dt className="col-2">approved</dt>
      <dd className="col-10" data-testid="why-approvals">{why.approvals.length ? why.approvals.map((a) =>
        <div key={a.node}>{a.node}: {a.approved ? `approved by ${a.by.join(", ")}` : a.status}
          {a.comments.some(Boolean) ? ` (${a.comments.filter(Boolean).join("; ")})` : ""}</div>) : "no gate"}</dd>
      <dt className="col-2">before</dt>
      <dd className="col-10">{why.before.release ?? "–"} (pid {String(why.before.pid ?? "–")}), {run(why.before.switched_by ?? null)}</dd>
      {why.missing && <><dt className="col-2">missing</dt><dd className="col-10 text-warning">{why.missing}</dd></>}
    </dl>
  );
}
