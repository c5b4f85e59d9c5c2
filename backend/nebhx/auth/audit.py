"""The audit log: one row per state change, whichever door it came through.

An API call's row is written by the middleware (with the answer's status, refusals included).
A change made through another door (the CLI on the control plane, an agent registering) is
written by the service function that makes it, in the same transaction, under the same action
name as the API route that does the same: the service is given a ``Door``.
"""
from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.auth.schemas import AuditEntry
from nebhx.store.models import AuditRow


def record(session: Session, *, actor: str, action: str, target: str, address: str | None,
           data: dict[str, Any]) -> None:
    session.add(AuditRow(actor=actor[:200], action=action[:100], target=target[:300],
                         address=(address or "")[:64] or None, data=data))


@dataclass(frozen=True)
class Door:
    """Who makes a change outside the API's middleware, and how."""
    actor: str
    via: str  # "cli" or "agent"
    address: str | None = None


def cli_door() -> Door:
    """The CLI on the control plane: the account that ran it."""
    return Door(actor=f"cli:{getpass.getuser()}", via="cli", address="local")


def record_change(session: Session, door: Door | None, *, action: str, target: str, data: dict[str, Any]) -> None:
    """The audit row of a change a service made; nothing for ``door=None`` (an API route, whose
    row the middleware writes)."""
    if door is not None:
        record(session, actor=door.actor, action=action, target=target, address=door.address,
               data={**data, "via": door.via})


def audit_entries(session: Session, *, actor: str | None = None, action: str | None = None,
                  since: datetime | None = None, limit: int = 200) -> list[AuditEntry]:
    """Newest first."""
    stmt = select(AuditRow)
    if actor:
        stmt = stmt.where(AuditRow.actor == actor)
    if action:
        stmt = stmt.where(AuditRow.action == action)
    if since:
        # A time without a zone is UTC, like every time the API answers with.
        since = since.replace(tzinfo=timezone.utc) if since.tzinfo is None else since.astimezone(timezone.utc)
        stmt = stmt.where(AuditRow.at >= since)
    rows = session.scalars(stmt.order_by(AuditRow.id.desc()).limit(limit))
    return [AuditEntry(id=r.id, at=r.at, actor=r.actor, action=r.action, target=r.target,
                       address=r.address, data=r.data) for r in rows]


def list_audit(session: Session, **filters: Any) -> list[dict[str, Any]]:
    """``audit_entries`` as the JSON the API answers (for scripts and tests that read the log)."""
    return [e.model_dump(mode="json") for e in audit_entries(session, **filters)]
