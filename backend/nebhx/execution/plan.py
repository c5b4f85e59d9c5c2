"""The control plane's half of planning on hosts: ask each host's agent, wait with a deadline.

A plan's host items go to the host's own queue (``host.<name>``) as one ``nebhx.plan_host``
task per host (nebhx.agent.plans plans it there); the agent answers through the
execution API (``POST /api/exec/plan/{id}``, with its host token) or, for the embedded agent
of ``nebhx up``, through the store. Either way the answer lands in the row this side wrote
for that host (``plan_requests``), so a host answers only what it was asked, and an API
process waits for the rows, woken at once when the answer came through itself.

A host whose agent is not running is told at once ("no agent of host X is running"); one
that does not answer within the deadline is "host X did not answer within N s".
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from nebhx.settings import get_settings
from nebhx.store.db import session_scope
from nebhx.store.models import HostRow, PlanRequestRow, WorkerRow, utcnow

log = logging.getLogger("nebhx.plan")
MAX_ANSWER_BYTES = 4_000_000
KEEP_ROWS = timedelta(hours=1)  # rows of a plan whose API process died are swept after this
_waiters: dict[str, threading.Event] = {}


class AnswerRefused(ValueError):
    """An answer no plan asked this host for (or no longer waits for), or one too big."""


_lock = threading.Lock()
_here: dict[str, dict[str, dict[str, Any] | None]] = {}  # plans waiting in this process: id -> host -> answer


def too_big(host: str) -> dict[str, Any]:
    return {"error": f"host {host}'s plan answer is over {MAX_ANSWER_BYTES // 1_000_000} MB"}


def take_here(*, request_id: str, host: str, answer: dict[str, Any]) -> bool:
    """Hand the answer to the plan that waits for it in this process, if one does (no thread,
    no store: the route calls this on the event loop)."""
    with _lock:
        asked = _here.get(request_id)
        if asked is None or host not in asked or asked[host] is not None:
            return False
        asked[host] = answer
        _waiters[request_id].set()
        return True


def record_answer(*, request_id: str, host: str, answer: dict[str, Any]) -> None:
    """Keep a host's answer for the plan waiting for it (the route and the embedded agent): in
    memory when that plan waits in this process, else in its row for the process that waits."""
    if len(json.dumps(answer)) > MAX_ANSWER_BYTES:
        answer = too_big(host)
    if take_here(request_id=request_id, host=host, answer=answer):
        return
    with session_scope() as s:
        row = s.get(PlanRequestRow, (request_id, host))
        if row is None or row.answer is not None:
            raise AnswerRefused(f"no plan {request_id} waits for host {host}'s answer (it ended, "
                                "or was never asked of this host)")
        row.answer = answer


class AgentHosts:
    """Plans host items on the hosts' own agents (the plan route's HostPlanner)."""

    def __init__(self, poll_s: float = 0.02):
        self.poll_s = poll_s

    def ask(self, batches: dict[str, dict[str, Any]], timeout_s: float) -> dict[str, dict[str, Any]]:
        answers, live = self._not_running(list(batches))
        if not live:
            return answers
        rid = uuid.uuid4().hex
        waiter = _waiters[rid] = threading.Event()
        with _lock:
            _here[rid] = dict.fromkeys(live)
        try:
            with session_scope() as s:
                s.execute(delete(PlanRequestRow).where(PlanRequestRow.created_at < utcnow() - KEEP_ROWS))
                s.add_all(PlanRequestRow(id=rid, host=h) for h in live)
            pending = self._send(rid, {h: batches[h] for h in live}, timeout_s, answers)
            self._wait(rid, pending, time.monotonic() + timeout_s, waiter, answers)
        finally:
            with _lock:
                _waiters.pop(rid, None)
                _here.pop(rid, None)
            with session_scope() as s:
                s.execute(delete(PlanRequestRow).where(PlanRequestRow.id == rid))
        for host in pending - answers.keys():
            answers[host] = {"error": f"host {host} did not answer within {timeout_s:g} s (its agent "
                                      "is busy or stuck)"}
        return answers

    def _not_running(self, hosts: list[str]) -> tuple[dict[str, dict], list[str]]:
        """Answers for the hosts no agent process serves now, and the hosts one does."""
        settings = get_settings()
        since = utcnow() - timedelta(seconds=settings.worker_down_s)
        with session_scope(read_only=True) as s:
            live = set(s.scalars(select(WorkerRow.host).where(WorkerRow.host.in_(hosts),
                                                              WorkerRow.last_seen >= since)))
            known = {r.name: r.last_seen for r in s.scalars(select(HostRow).where(HostRow.name.in_(hosts)))}
        answers = {}
        for host in hosts:
            if host in live:
                continue
            seen = known.get(host)
            answers[host] = {"error": f"no agent of host {host} is running" + (
                f" (the host was last seen {_ago(seen)})" if seen else
                " (no host of that name is registered: `nebhx hosts add` it)")}
        return answers, [h for h in hosts if h in live]

    def _send(self, rid: str, batches: dict[str, dict], timeout_s: float, answers: dict) -> set[str]:
        from nebhx.engine.celery_app import app
        sent = set()
        with app.producer_or_acquire() as producer:  # one connection for every host's task
            for host, batch in batches.items():
                try:
                    # argsrepr: Celery would otherwise saferepr() each batch for its logs.
                    app.send_task("nebhx.plan_host", (rid, host, batch), queue=f"host.{host}",
                                  expires=timeout_s + 5, retry=False, producer=producer,
                                  argsrepr=f"({rid!r}, {host!r}, ...)", kwargsrepr="{}")
                    sent.add(host)
                except Exception as exc:  # the broker is down: this host cannot be asked
                    answers[host] = {"error": f"could not reach host {host}'s queue: {exc}"}
        return sent

    def _wait(self, rid: str, pending: set[str], deadline: float, waiter: threading.Event,
              answers: dict) -> None:
        """Answers that came through this process are in memory (they wake the wait); the
        others (another API process, the embedded agent) in the store, looked at every
        ``poll_s`` once none came here for that long."""
        left, next_look = set(pending), time.monotonic() + self.poll_s
        while left:
            with _lock:
                here = {h: a for h, a in (_here.get(rid) or {}).items() if a is not None and h in left}
            answers.update(here)
            left -= here.keys()
            if here:  # answers are flowing in through this process: the store can wait a little
                next_look = max(next_look, time.monotonic() + self.poll_s)
            if left and time.monotonic() >= next_look:
                with session_scope(read_only=True) as s:  # SQLite: no write lock 50 times a second
                    rows = s.execute(select(PlanRequestRow.host, PlanRequestRow.answer).where(
                        PlanRequestRow.id == rid, PlanRequestRow.answer.is_not(None))).all()
                for host, answer in rows:
                    if host in left:
                        answers[host] = answer
                        left.discard(host)
                next_look = time.monotonic() + self.poll_s
            wait = deadline - time.monotonic()
            if not left or wait <= 0:
                return
            waiter.wait(min(self.poll_s, wait))
            waiter.clear()


def _ago(when: datetime) -> str:
    if when.tzinfo is None:
        from datetime import timezone
        when = when.replace(tzinfo=timezone.utc)
    seconds = (utcnow() - when).total_seconds()
    return f"{seconds:.0f} s ago" if seconds < 120 else f"{seconds / 60:.0f} min ago"
