"""Run retention: which runs housekeeping deletes, with their nodes, logs and events.

A graph keeps its last ``keep_runs`` runs *or* its runs of the last ``keep_days`` days,
whichever keeps more: its own ``retention`` when set, else the server's ``NEBHX_RETAIN_RUNS``
(200 by default) and ``NEBHX_RETAIN_DAYS``; neither limit set: everything is kept. Whatever the policy, a run that
is still going is kept, and so is the last run of each schedule trigger (the triggers view
shows it). `nebhx gc` and the sweep (every ``gc_interval_s``) both call ``collect``.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nebhx.settings import get_settings
from nebhx.statuses import RunStatus
from nebhx.store.models import AuditRow, EventRow, GraphRow, NodeRow, RunRow, TriggerScheduleRow, aware, utcnow

BATCH = 500  # runs deleted per statement: a long IN list is slow on both stores


def policy_of(graph: GraphRow) -> dict[str, Any]:
    """The graph's own retention when it has one (a field it leaves out sets no limit of that
    kind), else the server's settings."""
    if graph.retention:
        return {"keep_runs": graph.retention.get("keep_runs"), "keep_days": graph.retention.get("keep_days")}
    settings = get_settings()
    return {"keep_runs": settings.retain_runs, "keep_days": settings.retain_days}


def expired(session: Session, graph: GraphRow, now: datetime) -> list[str]:
    """Ids of ``graph``'s runs its policy no longer keeps, oldest first."""
    policy = policy_of(graph)
    if policy["keep_runs"] is None and policy["keep_days"] is None:
        return []
    runs = session.execute(select(RunRow.id, RunRow.status, RunRow.created_at).where(
        RunRow.graph_id == graph.id).order_by(RunRow.created_at.desc(), RunRow.id.desc())).all()
    pinned = set(session.scalars(select(TriggerScheduleRow.last_run_id).where(
        TriggerScheduleRow.graph_id == graph.id)))
    since = now - timedelta(days=policy["keep_days"]) if policy["keep_days"] is not None else None
    out = []
    for rank, (run_id, status, created_at) in enumerate(runs):
        by_count = policy["keep_runs"] is not None and rank < policy["keep_runs"]
        by_age = since is not None and aware(created_at) >= since
        if not (by_count or by_age or status == RunStatus.RUNNING or run_id in pinned):
            out.append(run_id)
    return out[::-1]


def delete_runs(session: Session, run_ids: list[str]) -> None:
    """The runs, their nodes (with their logs) and their events."""
    for i in range(0, len(run_ids), BATCH):
        chunk = run_ids[i:i + BATCH]
        session.execute(delete(EventRow).where(EventRow.run_id.in_(chunk)))
        session.execute(delete(NodeRow).where(NodeRow.run_id.in_(chunk)))
        session.execute(delete(RunRow).where(RunRow.id.in_(chunk)))


def collect(session: Session, *, graph_id: str | None = None, dry_run: bool = False,
            now: datetime | None = None) -> dict[str, Any]:
    """Delete (or with ``dry_run`` only list) the runs retention no longer keeps, per graph."""
    now = now or utcnow()
    query = select(GraphRow).order_by(GraphRow.id)
    if graph_id is not None:
        query = query.where(GraphRow.id == graph_id)
    found = {g.id: ids for g in session.scalars(query) if (ids := expired(session, g, now))}
    if not dry_run:
        delete_runs(session, [r for ids in found.values() for r in ids])
    return {"dry_run": dry_run, "deleted": sum(map(len, found.values())), "graphs": found}


def sweep(session: Session) -> int:
    """The scheduled collection (from the sweep): audited as the sweeper when it deleted runs."""
    done = collect(session)
    if done["deleted"]:
        session.add(AuditRow(actor="sweeper", action="runs.gc", target="/api/gc", address=None,
                             data={"deleted": done["deleted"],
                                   "graphs": {g: len(ids) for g, ids in done["graphs"].items()}, "via": "sweep"}))
    return done["deleted"]
