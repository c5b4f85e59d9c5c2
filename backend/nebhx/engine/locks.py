"""Service locks: two runs that switch or restart the same service instance on the same host
never interleave.

A brick that changes a running service declares which of its inputs name it
(``Brick.service_lock``: host, service, instance). Before its ``run`` the worker takes the
lock for the node's run through its ``Execution`` (the store here; the execution API for an
agent, which may lock only on its own host). A run keeps what it took until it ends, so the
steps of one run (switch, check, restart) are never cut by another run's; a run takes its
own lock again freely. When another, still running, run holds it, the node's ``on_lock``
input decides: ``wait`` (the node keeps running, shows "waiting for lock held by run X" and
asks again) or ``refuse`` (the node fails naming the holder).

A run that ended (or was deleted) holds nothing, whatever rows are left: the next taker takes
the row over, and the sweeper deletes such rows (``release_dead``). Rows live in the store,
so the lock holds across workers and agents.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nebhx.statuses import RunStatus
from nebhx.store.models import RunRow, ServiceLockRow, iso, utcnow


def holder_view(row: ServiceLockRow) -> dict[str, Any]:
    return {"run_id": row.run_id, "node_id": row.node_id, "since": iso(row.acquired_at)}


def _alive(session: Session, run_id: str) -> bool:
    status = session.execute(select(RunRow.status).where(RunRow.id == run_id)).scalar_one_or_none()
    return status == RunStatus.RUNNING


def try_lock(session: Session, key: dict[str, str], run_id: str, node_id: str) -> dict[str, Any] | None:
    """Take the lock for ``run_id``: None when it holds it now, else who holds it."""
    pk = (key["host"], key["service"], key["instance"])
    for _ in range(3):  # an insert or a takeover that lost a race reads the winner's row next time
        row = session.get(ServiceLockRow, pk, with_for_update=True, populate_existing=True)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(ServiceLockRow(host=pk[0], service=pk[1], instance=pk[2], run_id=run_id,
                                               node_id=node_id, acquired_at=utcnow()))
                return None
            except IntegrityError:
                continue
        if row.run_id == run_id:
            return None
        if _alive(session, row.run_id):
            return holder_view(row)
        # Its run ended: take it over, by compare-and-set (SQLite has no SELECT ... FOR UPDATE).
        took = session.execute(update(ServiceLockRow).where(
            ServiceLockRow.host == pk[0], ServiceLockRow.service == pk[1], ServiceLockRow.instance == pk[2],
            ServiceLockRow.run_id == row.run_id).values(run_id=run_id, node_id=node_id, acquired_at=utcnow()))
        if took.rowcount == 1:  # type: ignore[attr-defined]  # an UPDATE's CursorResult
            return None
    raise RuntimeError(f"could not take the lock on {pk}: it changed hands three times in a row")


def release_run(session: Session, run_id: str) -> int:
    """Drop every lock ``run_id`` holds (its end); how many."""
    return session.execute(delete(ServiceLockRow).where(ServiceLockRow.run_id == run_id)).rowcount or 0  # type: ignore[attr-defined]


def release_dead(session: Session) -> list[dict[str, Any]]:
    """Delete the locks whose run ended or is gone (the sweeper's part); what was released."""
    running = select(RunRow.id).where(RunRow.status == RunStatus.RUNNING)
    dead = session.execute(select(ServiceLockRow).where(ServiceLockRow.run_id.not_in(running))).scalars().all()
    for row in dead:
        session.delete(row)
    return [{"host": r.host, "service": r.service, "instance": r.instance, **holder_view(r)} for r in dead]
