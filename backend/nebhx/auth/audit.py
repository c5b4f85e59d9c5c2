"""The audit log: one row per state-changing API call, written by the middleware."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.store.models import AuditRow, iso


def record(session: Session, *, actor: str, action: str, target: str, address: str | None,
           data: dict[str, Any]) -> None:
    session.add(AuditRow(actor=actor[:200], action=action[:100], target=target[:300],
                         address=(address or "")[:64] or None, data=data))


def list_audit(session: Session, *, actor: str | None = None, action: str | None = None,
               since: datetime | None = None, limit: int = 200) -> list[dict[str, Any]]:
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
    return [{"id": r.id, "at": iso(r.at), "actor": r.actor, "action": r.action, "target": r.target,
             "address": r.address, "data": r.data} for r in rows]
