"""Hosts: agents register and heartbeat; a host that stops heartbeating is down."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nebhx.auth.audit import Door, record_change
# A host's state and labels as the engine reads them (its inventory, its sweep); re-exported.
from nebhx.engine.hosts import IDENTITY as IDENTITY
from nebhx.engine.hosts import effective_labels as effective_labels
from nebhx.engine.hosts import held_labels, label_policy
from nebhx.engine.hosts import host_state as host_state
from nebhx.errors import NotFound
from nebhx.hosts.schemas import HostDeleted, HostRead, ServiceLockRead, ServiceRead
from nebhx.statuses import NodeStatus, RunStatus
from nebhx.store.models import HostRow, NodeRow, RunRow, ServiceLockRow, TokenRow, utcnow



def heartbeat(session: Session, *, name: str, address: str = "", labels: dict | None = None,
              version: str = "", services: list | None = None, started: bool = False,
              volumes: list | None = None) -> None:
    row = session.get(HostRow, name)
    now = utcnow()
    if row is None:
        row = HostRow(name=name, started_at=now)
        session.add(row)
    row.last_seen = now
    if started:
        row.started_at, row.address, row.labels, row.version = now, address, labels or {}, version
    from nebhx.hosts.reported import masked
    if services is not None and not _older(services, row.services):
        row.services = masked(session, services)
    if volumes is not None:
        row.volumes = masked(session, volumes)


def _checked(services: list | None) -> str:
    return max((str(r.get("checked_at") or "") for r in services or [] if isinstance(r, dict)), default="")


def _older(services: list, kept: list | None) -> bool:
    """A look that began before the one kept (two looks of one host crossed on their way)."""
    new, old = _checked(services), _checked(kept)
    return bool(new and old) and new < old


def seen_at(host: HostRow, svc: dict) -> datetime | None:
    """When the host's agent looked at this service (not its last heartbeat: it beats more
    often than it looks); an agent's time that is no ISO time counts as not given."""
    try:
        return datetime.fromisoformat(str(svc["checked_at"]))
    except (KeyError, ValueError):
        return host.last_seen


def register(session: Session, *, name: str, address: str, labels: dict, version: str, door: Door) -> None:
    """An agent announces its host (address, labels, version): audited, with what is held."""
    heartbeat(session, name=name, address=address, labels=labels, version=version, started=True)
    record_change(session, door, action="execution.register", target="/api/exec/register",
                  data={"host": name, "address": address, "labels": labels, "version": version,
                        "held": held_labels(session.get(HostRow, name))})


def approve_labels(session: Session, *, name: str, keys: list[str] | None = None) -> tuple[HostRow, dict]:
    """Approve the labels the agent declares now (only ``keys`` when given); the host and
    what was approved. Reserved keys are never approved: an admin sets them itself."""
    row = session.get(HostRow, name)
    if row is None:
        raise NotFound(f"no host {name!r}: its agent has not registered yet (nebhx hosts lists them)")
    reserved, _ = label_policy()
    declared = row.labels or {}
    missing = sorted(set(keys or ()) - declared.keys())
    if missing:
        raise ValueError(f"host {name!r} declares no label {', '.join(missing)} (it declares: "
                         f"{', '.join(sorted(declared)) or 'none'})")
    picked = {k: v for k, v in declared.items() if (keys is None or k in keys) and k not in reserved}
    row.approved_labels = {**(row.approved_labels or {}), **picked}  # a new dict: a changed JSON column
    return row, picked


def read_host(row: HostRow) -> HostRead:
    admin = row.admin_labels or {}
    labels = effective_labels(row)
    return HostRead(name=row.name, address=row.address, labels=labels,
                    label_sources={k: "admin" if k in admin else "agent" for k in labels},
                    agent_labels=row.labels or {}, held_labels=held_labels(row), version=row.version,
                    state=host_state(row), last_seen=row.last_seen, started_at=row.started_at)


def list_hosts(session: Session) -> list[HostRead]:
    return [read_host(r) for r in session.execute(select(HostRow).order_by(HostRow.name)).scalars()]


def list_services(session: Session) -> list[ServiceRead]:
    """Every service instance on every host, as the host's agent last saw it."""
    out = []
    for row in session.execute(select(HostRow).order_by(HostRow.name)).scalars():
        state = host_state(row)
        for svc in row.services or []:
            out.append(ServiceRead(**{"host": row.name, "host_state": state, **svc, "seen_at": seen_at(row, svc)}))
    return out


def list_locks(session: Session) -> list[ServiceLockRead]:
    """Service locks held now (a row left by a run that ended holds nothing and is swept)."""
    rows = session.execute(select(ServiceLockRow).order_by(ServiceLockRow.host, ServiceLockRow.service)).scalars()
    return [ServiceLockRead(host=r.host, service=r.service, instance=r.instance, run_id=r.run_id,
                            node_id=r.node_id, since=r.acquired_at) for r in rows]


def delete_host(session: Session, *, name: str, door: Door | None = None) -> HostDeleted:
    """Forget a host: its row and its agent's tokens (revoked, so the agent cannot come back
    unasked: a new one needs `nebhx hosts add`). Refused while a running run has work on it."""
    from nebhx.errors import InUse, NotFound
    row = session.get(HostRow, name)
    if row is None:
        raise NotFound(f"no host {name!r}")
    busy = session.execute(select(NodeRow.run_id, NodeRow.node_id).join(RunRow, RunRow.id == NodeRow.run_id).where(
        NodeRow.host == name, RunRow.status == RunStatus.RUNNING,
        NodeRow.status.in_([NodeStatus.QUEUED, NodeStatus.RUNNING, NodeStatus.WAITING]))).all()
    if busy:
        raise InUse(f"host {name} has work in running runs: "
                    + ", ".join(f"run {r} node {n}" for r, n in busy[:10]))
    tokens = list(session.scalars(select(TokenRow.id).where(TokenRow.kind == "host", TokenRow.owner == name,
                                                            TokenRow.revoked_at.is_(None))))
    session.execute(update(TokenRow).where(TokenRow.id.in_(tokens)).values(revoked_at=utcnow()))
    session.delete(row)
    from nebhx.auth.host_deps import forget_host
    from nebhx.auth.broker import remove_user
    forget_host(name)
    out = HostDeleted(host=name, revoked_tokens=tokens, broker_user_removed=remove_user(name))
    record_change(session, door, action="hosts.delete_host", target=f"/api/hosts/{name}", data=out.model_dump())
    return out
