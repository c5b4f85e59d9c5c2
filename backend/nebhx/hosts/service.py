"""Hosts: agents register and heartbeat; a host that stops heartbeating is down."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.store.models import HostRow, aware, iso, utcnow



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
    if services is not None:
        row.services = services
    if volumes is not None:
        row.volumes = volumes


def host_state(row: HostRow, down_after_s: float | None = None) -> str:
    if down_after_s is None:
        from nebhx.settings import get_settings
        down_after_s = get_settings().host_down_s
    return "up" if aware(row.last_seen) > utcnow() - timedelta(seconds=down_after_s) else "down"


def effective_labels(row: HostRow) -> dict[str, Any]:
    """What selectors match: the agent's labels, overlaid by the ones an admin set."""
    return {**(row.labels or {}), **(row.admin_labels or {})}


def host_view(row: HostRow) -> dict[str, Any]:
    admin = row.admin_labels or {}
    return {"name": row.name, "address": row.address, "labels": effective_labels(row),
            "label_sources": {k: "admin" if k in admin else "agent" for k in effective_labels(row)},
            "agent_labels": row.labels or {}, "version": row.version, "state": host_state(row),
            "last_seen": iso(row.last_seen), "started_at": iso(row.started_at)}


def list_hosts(session: Session) -> list[dict[str, Any]]:
    return [host_view(r) for r in session.execute(select(HostRow).order_by(HostRow.name)).scalars()]


def list_services(session: Session) -> list[dict[str, Any]]:
    """Every service instance on every host, as the host's agent last saw it."""
    out = []
    for row in session.execute(select(HostRow).order_by(HostRow.name)).scalars():
        state = host_state(row)
        for svc in row.services or []:
            out.append({"host": row.name, "host_state": state, "seen_at": iso(row.last_seen), **svc})
    return out
