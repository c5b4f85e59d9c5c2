"""Why a process runs on a host: the chain from the process back to the people who approved it.

Read on the control plane from what is already there: the host's last services report (the
process, its release with source, sha256, build run and commit, its config version, the data
volumes), and the runs' stored nodes (the switch that put this release there, the prepare that
rendered its config, the gates of that run). Each link names where it came from; a link
that cannot be found is null with ``missing`` saying why, never a guess.

A config's explain is computed again from the prepare node's inputs (the profiles are in
them): ``configs.resolve`` is pure, and its content version must equal the version the host
runs, which is checked (``matches``), so a changed profile set cannot pass for the old one.
"""
from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.errors import NotFound
from nebhx.releases.schemas import Before, GateDecision, RunLink, WhyRead
from nebhx.runtime import configs
from nebhx.sealing.crypto import mask_tree
from nebhx.statuses import NodeStatus
from nebhx.store.models import GraphRow, HostRow, NodeRow, RunRow

SWITCHES = ("rollout.switch", "rollout.rollback", "release.switch", "service.run")
PREPARES = ("rollout.prepare",)
SCAN = 500  # the host's newest succeeded nodes of a kind looked at


def _service_row(host: HostRow, service: str, instance: str | None) -> dict[str, Any]:
    for svc in host.services or []:
        if svc.get("service") == service and (svc.get("instance") or "") == (instance or ""):
            return svc
    where = f"service {service!r}" + (f" instance {instance!r}" if instance else "")
    raise NotFound(f"host {host.name!r} reports no {where} (its agent reports what service.run started)")


def _nodes(session: Session, host: str, bricks: tuple[str, ...]) -> list[NodeRow]:
    return list(session.scalars(select(NodeRow).where(
        NodeRow.host == host, NodeRow.brick.in_(bricks), NodeRow.status == NodeStatus.SUCCEEDED)
        .order_by(NodeRow.finished_at.desc()).limit(SCAN)))


def _switch_to(session: Session, host: str, service: str, instance: str | None, release: str | None,
               before: Any = None) -> NodeRow | None:
    """The newest node that put ``release`` in place for this instance (finished before ``before``)."""
    for n in _nodes(session, host, SWITCHES):
        ins, outs = n.inputs or {}, n.outputs or {}
        if (ins.get("service") == service and (ins.get("instance") or "") == (instance or "")
                and (outs.get("release_id") or ins.get("release_id")) == release
                and (before is None or (n.finished_at and n.finished_at < before))):
            return n
    return None


def run_link(session: Session, *, node: NodeRow) -> RunLink:
    run = session.get(RunRow, node.run_id)
    graph = session.get(GraphRow, run.graph_id) if run else None
    return RunLink(id=node.run_id, node=node.node_id, brick=node.brick, finished_at=node.finished_at,
                   graph=run.graph_id if run else None, graph_name=graph.name if graph else None,
                   revision=run.revision if run else None, started_by=run.started_by if run else None,
                   trigger=run.trigger if run else None)


def _approvals(session: Session, run_id: str) -> list[GateDecision]:
    gates = session.scalars(select(NodeRow).where(NodeRow.run_id == run_id, NodeRow.brick == "gate.approval")
                            .order_by(NodeRow.finished_at))
    out = []
    for g in gates:
        decision = (g.wait or {}).get("decision") or {}
        people = decision.get("approvals") or ([decision] if decision else [])
        out.append(GateDecision(node=g.node_id, status=g.status, approved=decision.get("approved"),
                                by=[p.get("by") for p in people], comments=[p.get("comment", "") for p in people],
                                at=decision.get("at")))
    return out


def _config(session: Session, host: str, service: str, version: str | None) -> dict[str, Any]:
    if not version:
        return {"version": None, "missing": "the instance runs without a rendered config"}
    for n in _nodes(session, host, PREPARES):
        ins = n.inputs or {}
        if ins.get("service") != service or (n.outputs or {}).get("config_version") != version:
            continue
        try:
            resolved = configs.resolve(ins.get("profiles") or {}, ins["profile"], host=host,
                                       cluster=ins.get("cluster") or None)
        except Exception as exc:  # the profiles no longer resolve here: say so, do not guess
            return {"version": version, "prepared_by": run_link(session, node=n), "missing": f"explain: {exc}"}
        return {"version": version, "prepared_by": run_link(session, node=n), "profile": ins["profile"],
                "layers": resolved.layers, "explain": mask_tree(resolved.explain), "matches": resolved.version == version,
                "files": {f: hashlib.sha256(text.encode()).hexdigest() for f, text in sorted(resolved.files.items())}}
    return {"version": version, "missing": "no stored run rendered this config version on this host"}


def _data(host: HostRow, switch: NodeRow | None) -> dict[str, Any]:
    name = (switch.inputs or {}).get("volume") if switch else None
    report = next((v for v in host.volumes or [] if isinstance(v, dict) and v.get("name") == name), None)
    snaps = (report or {}).get("snapshots") or []
    return {"volume": name, "snapshot_at_switch": (switch.outputs or {}).get("snapshot") if switch else None,
            "last_snapshot": snaps[-1] if snaps else None, "report": report}


def why(session: Session, *, host: str, service: str, instance: str | None = None) -> WhyRead:
    row = session.get(HostRow, host)
    if row is None:
        raise NotFound(f"no host {host!r}")
    svc = _service_row(row, service, instance)
    active = svc.get("release")
    release = next((r for r in svc.get("releases") or [] if r.get("id") == active), None)
    switch = _switch_to(session, host, service, instance, active)
    previous = (switch.outputs or {}).get("previous_release") if switch else None
    before = _switch_to(session, host, service, instance, previous, switch.finished_at) if previous else None
    return WhyRead(
        host=host, service=service, instance=instance, seen_at=row.last_seen,
        process={"program": svc.get("program"), "pid": svc.get("pid"), "state": svc.get("state"),
                 "since": svc.get("since"), "address": svc.get("address"), "health": svc.get("last_probe")},
        release=release or {"id": active, "missing": "the host reports no release record for it"},
        config=_config(session, host, service, svc.get("config_version")),
        data=_data(row, switch),
        switched_by=run_link(session, node=switch) if switch else None,
        approvals=_approvals(session, switch.run_id) if switch else [],
        before=Before(release=previous, pid=(switch.outputs or {}).get("pid_before") if switch else None,
                      switched_by=run_link(session, node=before) if before else None),
        missing=None if switch else "no stored run switched this release here (deleted by retention, "
                                    "or started by hand on the host)",
    )
