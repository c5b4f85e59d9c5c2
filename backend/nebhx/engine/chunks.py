"""Several items of one fan-out in one message, run one after another (``tasks.run_items``).

Each item is still a node of its own: its row claimed under its attempt (running, leased,
its event), its brick run by ``execute_claimed`` (fence, heartbeat), its end written on its
row with its event. What changes is how many at a time: claims a slice at a time in one
statement, successes held and written together in one transaction (``DbExecution.
finish_many``) with the fan-out gathered once for them. A 1,000-item fan-out so costs a few
dozen messages and a few dozen transactions, not a thousand messages and two thousand
transactions. A failure, a wait or a retry is written at once (after what is held), as a
lone node's.

What is held is written before it could cost a lease: when ``CHUNK_MAX`` items wait, once
``HOLD_S`` passed since the first, at the running item's first heartbeat (a slow item does
not keep the quick ones before it running), and when the message ends. A worker killed
meanwhile leaves those items running under its id: the sweep dispatches them again, as any
node of a dead worker (their bricks run again: they had not been recorded). An item claimed
in a slice and waiting its turn shows as running; a cancel then stops it at its first
heartbeat, as a running node (a quick brick completes, its end refused).
"""
from __future__ import annotations

import threading
import time

from nebhx.attempt.claims import Execution
from nebhx.engine.claims import Claim, DbExecution, Outcome
from nebhx.engine.messages import CHUNK_MAX
from nebhx.engine.patience import StorePatient
from nebhx.statuses import NodeStatus

HOLD_S = 0.25  # a success is seen at most this late (or a heartbeat late, for a slow item)


class Deferred:
    """An ``Execution`` that holds successful ends and writes them together."""

    def __init__(self, inner: StorePatient):
        self.inner = inner
        self.held: list[tuple[Claim, Outcome]] = []
        self.waiting: list[Claim] = []
        self.since = 0.0
        self._lock = threading.Lock()  # the heartbeat's thread flushes too

    def claim(self, run_id: str, node_id: str, attempt: int) -> Claim | None:
        return self.inner.claim(run_id, node_id, attempt)

    def lock(self, claim: Claim, key: dict[str, str]):
        return self.inner.lock(claim, key)

    def renew(self, claim: Claim, log_chunk: str) -> bool:
        self.flush()
        for waiting in list(self.waiting):  # claimed with this one, their turn still to come
            self.inner.renew(waiting, "")
        return self.inner.renew(claim, log_chunk)

    def finish(self, claim: Claim, outcome: Outcome) -> bool:
        if outcome.status != NodeStatus.SUCCEEDED or outcome.inputs is None:
            self.flush()
            return self.inner.finish(claim, outcome)
        with self._lock:
            if not self.held:
                self.since = time.monotonic()
            self.held.append((claim, outcome))
            due = len(self.held) >= CHUNK_MAX or time.monotonic() - self.since >= HOLD_S
        if due:
            self.flush()
        return True  # refused ends (the attempt was taken for lost meanwhile) are dropped at flush

    def flush(self) -> None:
        with self._lock:
            held, self.held = self.held, []
            if held:
                self.inner.finish_many(held)


def execute_items(run_id: str, items: list[tuple[str, int]], execution: Execution | None = None) -> None:
    """Run these attempts of a run's items one after another, their successes written together.

    They are claimed a slice at a time, one statement a slice: one item first, then as many
    as the items so far ran in ``HOLD_S`` (quick items are claimed many at once; a slow one
    alone, as a lone node). A claimed item waiting its turn keeps its lease (``Deferred.renew``).
    """
    from nebhx.engine.execute import execute_claimed, execute_node, get_execution
    ex = execution or get_execution()
    if not isinstance(ex, DbExecution):  # an agent's execution API (never sent chunks): one by one
        for node_id, attempt in items:
            execute_node(run_id, node_id, attempt, ex)
        return
    deferred, size, todo = Deferred(StorePatient(ex)), 1, list(items)
    try:
        while todo:
            claims, todo = deferred.inner.claim_many(run_id, todo[:size]), todo[size:]
            t0 = time.monotonic()
            deferred.waiting = list(claims)
            for claim in claims:
                deferred.waiting.remove(claim)
                execute_claimed(claim, deferred)
            each = (time.monotonic() - t0) / max(len(claims), 1)
            size = max(1, min(CHUNK_MAX, int(HOLD_S / max(each, 1e-4))))
    finally:
        deferred.flush()
