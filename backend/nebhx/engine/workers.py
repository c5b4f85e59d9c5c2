"""The beats of worker and agent processes in the store (``nebhx.attempt.alive``): a node
claimed by a process that stopped beating is dispatched again within seconds."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nebhx.store.models import WorkerRow, utcnow


def record_beat(session: Session, *, worker_id: str, host: str | None) -> None:
    row = session.get(WorkerRow, worker_id)
    now = utcnow()
    if row is None:
        session.add(WorkerRow(id=worker_id, host=host, started_at=now, last_seen=now))
    else:
        row.last_seen = now


def dead_workers(down_s: float):
    """The ids of processes that stopped beating (a subquery for the sweep)."""
    return select(WorkerRow.id).where(WorkerRow.last_seen < utcnow() - timedelta(seconds=down_s))


def forget_old(session: Session, *, older_than_s: float = 86400) -> None:
    session.execute(delete(WorkerRow).where(WorkerRow.last_seen < utcnow() - timedelta(seconds=older_than_s)))
