"""Hosts: agents register and heartbeat; a host that stops heartbeating is down."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.engine.events import aware, iso
from nebhx.store.models import HostRow, utcnow



def heartbeat(session: Session, *, name: str, address: str = "", labels: dict | None = None,
              version: str = "", services: list | None = None, started: bool = False) -> None:
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


def host_state(row: HostRow, down_after_s: float | None = None) -> str:
    if down_after_s is None:
        from nebhx.settings import get_settings
        down_after_s = get_settings().host_down_s
    return "up" if aware(row.last_seen) > utcnow() - timedelta(seconds=down_after_s) else "down"


def list_hosts(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(HostRow).order_by(HostRow.name)).scalars()
    return [{"name": r.name, "address": r.address, "labels": r.labels, "version": r.version,
             "state": host_state(r), "last_seen": iso(r.last_seen), "started_at": iso(r.started_at)}
            for r in rows]


def list_services(session: Session) -> list[dict[str, Any]]:
    """Every service instance on every host, as the host's agent last saw it."""
    out = []
    for row in session.execute(select(HostRow).order_by(HostRow.name)).scalars():
        state = host_state(row)
        for svc in row.services or []:
            out.append({"host": row.name, "host_state": state, "seen_at": iso(row.last_seen), **svc})
    return out
