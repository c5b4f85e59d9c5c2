"""The periodic sweep: what event-driven advancing cannot see happens here.

- a running node whose lease expired (its worker died) is dispatched again;
- a running node past its timeout is failed (or retried), whatever its worker does;
- a queued node whose message may be lost is sent again, same attempt: at once when the
  broker lost its messages (restarted empty) or a publish failed, else after RESEND_LEASES
  leases (a duplicate message is a no-op: the claim is a compare-and-set);
- a queued node nobody took fails: its host is down, or no worker serves its queue;
- a waiting node past its wait timeout fails;
- the jobs it was given run: a schedule trigger whose cron tick is due starts its run
  (nebhx.triggers.schedule, given by nebhx.process).
Safe to run in several processes at once: every change is a compare-and-set.

For a queued node, ``queued_at`` is when its message is due (a retry's backoff included)
and ``heartbeat_at`` when the sweep last sent it again (``UNSENT``: its publish failed).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from datetime import timedelta

from sqlalchemy import or_, select

from nebhx.engine import scheduler, transitions
from nebhx.engine.dispatch import Dispatch, publish
from nebhx.store.models import aware
from nebhx.engine.loading import plan_for
from nebhx.engine.resolve import CONTROL_QUEUE, split_id
from nebhx.engine.statements import NODES
from nebhx.settings import Settings, get_settings
from nebhx.statuses import EventStatus, NodeStatus
from nebhx.store.db import session_scope
from nebhx.store.models import NodeRow, RunRow, iso, utcnow

N = NodeStatus
log = logging.getLogger("nebhx.sweep")
RESEND_LEASES = 4  # a queued node whose message may be lost silently is sent again after this


def sweep_once(settings: Settings | None = None, *, resend_all: bool = False,
               can_send: bool = True, judge_leases: bool = True,
               judge_workers: bool | None = None) -> list[Dispatch]:
    """One pass. ``resend_all``: the broker lost its messages, send every queued node again;
    ``can_send`` False: the broker is unreachable, send nothing this time; ``judge_leases``
    False: leave running nodes be; ``judge_workers`` False: do not take a silent worker for
    dead yet (see ``Sweeper``)."""
    settings = settings or get_settings()
    judge_workers = judge_leases if judge_workers is None else judge_workers
    _release_dead_locks(settings)
    out = _sweep_running(settings, judge_leases, judge_workers) if judge_leases or judge_workers else []
    for kind, row, reason in _queued_decisions(settings, resend_all, can_send):
        with session_scope(settings.db_url) as s:  # one short transaction per change
            out += _fail_queued(s, row, reason) if kind == "fail" else _resend(s, row)
    return out


def _release_dead_locks(settings: Settings) -> None:
    """Service locks whose run ended or is gone hold nothing: delete them (engine.locks)."""
    from nebhx.engine.locks import release_dead
    with session_scope(settings.db_url) as s:
        for lock in release_dead(s):
            log.info("released the lock on %s/%s%s held by ended run %s", lock["host"], lock["service"],
                     f" ({lock['instance']})" if lock["instance"] else "", lock["run_id"])


def _sweep_running(settings: Settings, judge_leases: bool, judge_workers: bool) -> list[Dispatch]:
    from nebhx.engine.workers import dead_workers
    now = utcnow()
    out: list[Dispatch] = []
    stale = now - timedelta(seconds=settings.lease_s)
    running = NodeRow.status == N.RUNNING
    conds = []
    if judge_leases:
        # The worker enforces timeout_s itself; the sweep steps in a lease later.
        conds += [running & or_(NodeRow.heartbeat_at < stale, NodeRow.deadline_at < stale),
                  (NodeRow.status == N.WAITING) & (NodeRow.deadline_at < now)]
    if judge_workers:  # its worker process stopped beating: no need to wait out the lease
        conds.append(running & NodeRow.claimed_by.in_(dead_workers(settings.worker_down_s)))
    with session_scope(settings.db_url) as s:
        rows = s.execute(select(NodeRow).where(or_(*conds))).scalars().all()
        for row in rows:
            run = s.get(RunRow, row.run_id, with_for_update=True)
            if run is None:  # deleted meanwhile
                continue
            plan = plan_for(s, run.graph_id, run.revision)
            out += _sweep_node(s, run, plan, row, now, stale)
    return out


def _queued_decisions(settings: Settings, resend_all: bool, can_send: bool) -> list[tuple]:
    """What to do with queued nodes, decided in one read: ("fail", row, why) or ("send", row, None).

    Only nodes due for more than a lease, or unsent, are looked at (all of them after the
    broker lost its messages): a busy queue of fresh nodes costs the sweep nothing.
    """
    now = utcnow()
    resend_s = settings.lease_s * RESEND_LEASES
    cond = NODES.c.status == N.QUEUED
    if not (resend_all and can_send):
        cond &= or_(NODES.c.queued_at < now - timedelta(seconds=settings.lease_s),
                    NODES.c.heartbeat_at < now - timedelta(seconds=resend_s))
    cols = (NODES.c.run_id, NODES.c.node_id, NODES.c.attempt, NODES.c.queue, NODES.c.host,
            NODES.c.queued_at, NODES.c.heartbeat_at)
    out: list[tuple[str, Any, str | None]] = []
    with session_scope(settings.db_url) as s:
        for row in s.execute(select(*cols).where(cond)).all():
            head = scheduler.run_head(s, row.run_id)
            if head is None:
                continue
            node = plan_for(s, head.graph_id, head.revision).nodes[split_id(row.node_id)[0]]
            if reason := _no_taker(s, row, node.timeout_s, now, settings):
                out.append(("fail", row, reason))
            elif can_send and (resend_all or (now - aware(row.heartbeat_at or row.queued_at)).total_seconds() > resend_s):
                out.append(("send", row, None))
    return out


def _resend(s, row) -> list[Dispatch]:
    """Send a queued node's message again, same attempt; a retry keeps what is left of its backoff."""
    now = utcnow()
    if not scheduler.note(s, row.run_id, row.node_id, N.QUEUED, attempt=row.attempt, heartbeat_at=now):
        return []
    countdown = max((aware(row.queued_at) - now).total_seconds(), 0.0)
    return [publish(s, Dispatch(row.run_id, row.node_id, row.attempt, row.queue or CONTROL_QUEUE, countdown))]


def _no_taker(s, row, timeout_s: float | None, now, settings: Settings) -> str | None:
    """Why a queued node must fail now, or None: its host is down, or nobody took it in time."""
    from nebhx.engine.hosts import host_state
    from nebhx.store.models import HostRow
    waited = (now - aware(row.queued_at)).total_seconds()
    host = s.get(HostRow, row.host) if row.host else None
    if host is not None and host_state(host, settings.host_down_s) == "down" and host.last_seen \
            and waited > (timeout_s or settings.host_wait_s):
        return (f"host {row.host!r} is down (no heartbeat since {aware(host.last_seen).isoformat()}); "
                f"the node waited {waited:.0f}s for it")
    if waited > (timeout_s or settings.queue_timeout_s):
        return f"no worker for queue {row.queue or CONTROL_QUEUE} (queued for {waited:.0f} s)"
    return None


def _fail_queued(s, row, reason: str) -> list[Dispatch]:
    run = scheduler.lock_run(s, row.run_id)  # failing advances the run: one advance at a time
    if run is None or not transitions.transition(s, row.run_id, row.node_id, N.FAILED, expect=N.QUEUED,
                                                 attempt=row.attempt, error=reason, finished_at=utcnow(),
                                                 data={"error": reason}):
        return []
    s.flush()
    return scheduler.after_node(s, run, plan_for(s, run.graph_id, run.revision), row.node_id)


def _expire_approving(s, run, plan, row: NodeRow, now) -> list[Dispatch]:
    """A gate whose policy says ``on_expiry: approve``: its timeout approves it."""
    decision = {"approved": True, "by": "expiry", "at": iso(now), "comment": "approved on expiry",
                "approvals": (row.wait or {}).get("approvals") or []}
    if transitions.transition(s, run.id, row.node_id, N.SUCCEEDED, expect=N.WAITING, finished_at=now,
                              outputs=decision, wait={**(row.wait or {}), "decision": decision},
                              data={"by": "expiry", "comment": decision["comment"]}):
        s.flush()
        return scheduler.after_node(s, run, plan, row.node_id)
    return []


def _sweep_node(s, run, plan, row: NodeRow, now, stale) -> list[Dispatch]:
    if row.status == N.WAITING and ((row.wait or {}).get("policy") or {}).get("on_expiry") == "approve":
        return _expire_approving(s, run, plan, row, now)
    if row.status == N.WAITING or (row.deadline_at is not None and aware(row.deadline_at) < stale):
        what = "waited" if row.status == N.WAITING else "ran"
        reason = f"timed out: {what} past its deadline"
        if transitions.transition(s, run.id, row.node_id, N.FAILED, expect=row.status, attempt=row.attempt,
                                  error=reason, finished_at=now, data={"error": reason}):
            s.flush()
            return scheduler.after_node(s, run, plan, row.node_id)
        return []
    # The worker died mid-node (it stopped beating, or the lease expired). A lost attempt
    # counts against the node's retries (a brick that kills the process running it must not
    # be sent again forever); any node may be lost once, as when a worker is killed from
    # outside. The next attempt stops what this one left running on its machine (fence).
    why = f"its worker {row.claimed_by} stopped" if row.claimed_by else f"no heartbeat since {row.heartbeat_at}"
    node = plan.nodes[split_id(row.node_id)[0]]
    ended, budget = row.failures + 1, max(node.retries or 0, 1)
    if ended > budget:
        reason = (f"attempt {row.attempt} was lost ({why}): {ended} attempts ended without a result "
                  f"(retries: {node.retries or 0}); the brick may be killing the process that runs it")
        if transitions.transition(s, run.id, row.node_id, N.FAILED, expect=N.RUNNING, attempt=row.attempt,
                                  error=reason, failures=ended, finished_at=now,
                                  data={"error": reason, "attempt": row.attempt}):
            s.flush()
            return scheduler.after_node(s, run, plan, row.node_id)
        return []
    if not scheduler.note(s, run.id, row.node_id, N.RUNNING, attempt=row.attempt, failures=ended):
        return []  # it ended meanwhile
    transitions.step(s, run.id, row.node_id, EventStatus.LOST, attempt=row.attempt, reason=f"{why}; dispatching again")
    d = scheduler.queue_node(s, run, plan, row.node_id, expect=N.RUNNING, failures=ended)
    return [d] if d else []


def _collect_runs(settings: Settings) -> None:
    """Run retention (engine.retention); its own transaction, so a failure spoils no sweep."""
    from nebhx.engine.retention import sweep
    with session_scope(settings.db_url) as s:
        if deleted := sweep(s):
            log.info("housekeeping deleted %d runs", deleted)


def _forget_old_workers(settings: Settings) -> None:
    from nebhx.engine.workers import forget_old
    with session_scope(settings.db_url) as s:
        forget_old(s)


class BrokerWatch:
    """Tells the sweep whether the broker is reachable and whether it lost its messages."""

    def __init__(self, settings: Settings, on_back: Callable[[], None] | None = None):
        self.settings = settings
        self.on_back = on_back
        self.epoch: str | None = None
        self.was_down = False

    def check(self) -> str:
        """"ok", "down" (unreachable), or "lost" (back after an outage, or restarted empty)."""
        if self.settings.embedded_broker:
            return "ok"  # files on this machine: nothing to lose in a restart
        from nebhx.engine.celery_app import broker_epoch
        try:
            epoch = broker_epoch()
        except Exception as exc:
            if not self.was_down:
                log.warning("the broker is unreachable: %s", exc)
            self.was_down = True
            return "down"
        # After an outage a worker may have dropped the delayed messages it held: send again.
        lost = self.was_down or (self.epoch is not None and epoch != self.epoch)
        self.epoch, self.was_down = epoch, False
        if lost:
            log.warning("the broker is back (or lost its messages): sending queued nodes again")
            if self.on_back:
                self.on_back()  # a Redis restarted empty forgot the hosts' users too
        return "lost" if lost else "ok"


def _warm() -> None:
    from nebhx.bricks.registry import get_registry
    try:
        get_registry()
    except Exception:  # a broken block folder fails its nodes, not the sweep
        log.exception("the palette could not be loaded")


class Sweeper(threading.Thread):
    """Runs ``sweep_once`` every ``sweep_interval_s`` inside the API or scheduler process,
    then each of ``jobs`` (the domains' periodic work, e.g. due schedule triggers, given by
    ``nebhx.process.sweeper``: the engine imports no domain)."""

    def __init__(self, settings: Settings | None = None, *, jobs: Sequence[Callable[[Settings], None]] = (),
                 on_broker_back: Callable[[], None] | None = None):
        super().__init__(daemon=True, name="nebhx-sweeper")
        self.settings = settings or get_settings()
        self.stopped = threading.Event()
        self.jobs = tuple(jobs)
        self.watch = BrokerWatch(self.settings, on_broker_back)

    def run(self) -> None:
        # An agent renews its leases through the API this sweep runs in: after the API was
        # down, every lease looks expired. Give the agents one lease to renew them first.
        # Agents beat through this API as well: their processes get two beats' time first.
        # Both count from when the API can answer them quickly: the palette, which the first
        # outcome reported needs, loaded (seconds on a busy machine, longer than a lease).
        _warm()
        leases_from = time.monotonic() + self.settings.lease_s
        workers_from = time.monotonic() + 2 * self.settings.worker_down_s
        resend = False  # kept until a sweep got through: the store may be down as well
        pruned = 0.0
        collected = time.monotonic()  # the first collection one interval after the start
        while not self.stopped.wait(self.settings.sweep_interval_s):
            try:
                broker = self.watch.check()
                resend = resend or broker == "lost"
                sweep_once(self.settings, resend_all=resend, can_send=broker != "down",
                           judge_leases=time.monotonic() >= leases_from,
                           judge_workers=time.monotonic() >= workers_from)
                resend = resend and broker == "down"
                for job in self.jobs:
                    job(self.settings)
                if time.monotonic() - pruned > 600:
                    pruned = time.monotonic()
                    _forget_old_workers(self.settings)
                if time.monotonic() - collected > self.settings.gc_interval_s:
                    collected = time.monotonic()
                    _collect_runs(self.settings)
            except Exception:  # keep sweeping through a database or broker outage
                log.exception("sweep failed")
                # Nobody could renew a lease or record an outcome either: one lease for
                # them to catch up once the store is back, before a node counts as lost.
                leases_from = time.monotonic() + self.settings.lease_s
                workers_from = time.monotonic() + 2 * self.settings.worker_down_s

    def stop(self) -> None:
        self.stopped.set()
