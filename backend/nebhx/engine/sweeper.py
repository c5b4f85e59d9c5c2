"""The periodic sweep: what event-driven advancing cannot see happens here.

- a running node whose lease expired (its worker died) is dispatched again;
- a running node past its timeout is failed (or retried), whatever its worker does;
- a queued node whose message may be lost (broker restart) is sent again, same attempt;
- a waiting node past its wait timeout fails.
Safe to run in several processes at once: every change is a compare-and-set.
"""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import or_, select

from nebhx.engine import scheduler
from nebhx.engine.events import emit
from nebhx.engine.plan import plan_for
from nebhx.settings import Settings, get_settings
from nebhx.store.db import session_scope
from nebhx.store.models import NodeRow, RunRow, utcnow

log = logging.getLogger("nebhx.sweep")


def sweep_once(settings: Settings | None = None) -> list[scheduler.Dispatch]:
    settings = settings or get_settings()
    now = utcnow()
    out: list[scheduler.Dispatch] = []
    with session_scope(settings.db_url) as s:
        stale = now - timedelta(seconds=settings.lease_s)
        rows = s.execute(select(NodeRow).where(or_(
            # The worker enforces timeout_s itself; the sweep steps in a lease later.
            (NodeRow.status == "running") & or_(NodeRow.heartbeat_at < stale, NodeRow.deadline_at < stale),
            (NodeRow.status == "waiting") & (NodeRow.deadline_at < now),
            (NodeRow.status == "queued") & (NodeRow.queued_at < stale),
        ))).scalars().all()
        for row in rows:
            run = s.get(RunRow, row.run_id, with_for_update=True)
            plan = plan_for(s, run.graph_id, run.revision)
            if row.status == "queued":
                out += _sweep_queued(s, run, plan, row, now, settings)
            else:
                out += _sweep_node(s, run, plan, row, now, stale)
    return out


def _sweep_queued(s, run, plan, row: NodeRow, now, settings: Settings) -> list[scheduler.Dispatch]:
    """A queued node nobody took: fail it if its host is down too long, else send it again."""
    from nebhx.engine.events import aware
    from nebhx.engine.resolve import split_id
    from nebhx.hosts.service import host_state
    from nebhx.store.models import HostRow
    waited = (now - aware(row.queued_at)).total_seconds()
    host = s.get(HostRow, row.host) if row.host else None
    limit = plan.nodes[split_id(row.node_id)[0]].timeout_s or settings.host_wait_s
    if host is not None and host_state(host, settings.host_down_s) == "down" and waited > limit:
        reason = (f"host {row.host!r} is down (no heartbeat since {aware(host.last_seen).isoformat()}); "
                  f"the node waited {waited:.0f}s for it")
        if scheduler.cas(s, run.id, row.node_id, "queued", _attempt=row.attempt, status="failed",
                         error=reason, finished_at=now):
            emit(s, run.id, row.node_id, "node", "failed", error=reason)
            s.flush()
            return scheduler.after_node(s, run, plan, row.node_id)
        return []
    if waited > settings.lease_s * 4 and scheduler.cas(s, run.id, row.node_id, "queued",
                                                       _attempt=row.attempt, queued_at=now):
        return [scheduler.publish(s, scheduler.Dispatch(run.id, row.node_id, row.attempt,
                                                        row.queue or "nebhx"))]
    return []


def _sweep_node(s, run, plan, row: NodeRow, now, stale) -> list[scheduler.Dispatch]:
    from nebhx.engine.events import aware
    if row.status == "waiting" or (row.deadline_at is not None and aware(row.deadline_at) < stale):
        what = "waited" if row.status == "waiting" else "ran"
        reason = f"timed out: {what} past its deadline"
        if scheduler.cas(s, run.id, row.node_id, row.status, _attempt=row.attempt, status="failed",
                         error=reason, finished_at=now):
            emit(s, run.id, row.node_id, "node", "failed", error=reason)
            s.flush()
            return scheduler.after_node(s, run, plan, row.node_id)
        return []
    # The lease expired: the worker died mid-node. Run it again under a new attempt.
    emit(s, run.id, row.node_id, "node", "lost", attempt=row.attempt,
         reason=f"no heartbeat since {row.heartbeat_at}; dispatching again")
    d = scheduler.queue_node(s, run, plan, row.node_id, expect="running")
    return [d] if d else []


class Sweeper(threading.Thread):
    """Runs ``sweep_once`` every ``sweep_interval_s`` inside the API or scheduler process."""

    def __init__(self, settings: Settings | None = None):
        super().__init__(daemon=True, name="nebhx-sweeper")
        self.settings = settings or get_settings()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.settings.sweep_interval_s):
            try:
                sweep_once(self.settings)
            except Exception:  # keep sweeping through a database or broker outage
                log.exception("sweep failed")

    def stop(self) -> None:
        self.stopped.set()
