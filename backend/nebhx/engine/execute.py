"""One attempt of one node on a control worker: claimed and finished against the store.

The attempt itself (run the brick, renew, report) is ``nebhx.attempt.execute``'s, the same
code an agent runs with the execution API as its ``Execution`` (``nebhx.agent``).

A control worker also *follows* a chain: ending a node, it claims in the same transaction
one successor that end readied for the control queue and runs it next, with no message
(``execute_following``). Publishing, delivering and claiming a node cost a quick node more
than its brick did (a chain of no-ops ran at 2.5x raw Celery's time).
"""
from __future__ import annotations

import time
from functools import cache

from nebhx.attempt import execute
from nebhx.attempt.claims import Claim, Execution, Outcome
from nebhx.bricks.registry import get_registry
from nebhx.engine.claims import DbExecution
from nebhx.engine.patience import StorePatient
from nebhx.settings import get_settings

run_claimed = execute.run_claimed
execute_claimed = execute.execute_claimed
# A message's work is followed in its process this long at most: a warm shutdown, or the
# other messages of the queue, wait for a chain of quick nodes no longer than that; a node
# ending later is published as usual.
FOLLOW_S = 1.0


@cache
def _db_execution(url: str) -> DbExecution:
    return DbExecution(url)


def get_execution() -> DbExecution:
    """The store of this process's settings."""
    return _db_execution(get_settings().db_url)


def execute_node(run_id: str, node_id: str, attempt: int, execution: Execution | None = None) -> None:
    """Run one attempt against ``execution`` (the store by default). A stale message is a no-op."""
    execute.execute_node(run_id, node_id, attempt, execution or get_execution())


class _Following:
    """The store's ``Execution`` whose ``finish`` of a control node, within the time given,
    also claims a successor for this process (``next``)."""

    def __init__(self, inner: StorePatient, until: float):
        self.inner, self.until = inner, until
        self.next: Claim | None = None

    def claim(self, run_id: str, node_id: str, attempt: int) -> Claim | None:
        return self.inner.claim(run_id, node_id, attempt)

    def renew(self, claim: Claim, log_chunk: str) -> bool:
        return self.inner.renew(claim, log_chunk)

    def lock(self, claim: Claim, key: dict[str, str]) -> dict | None:
        return self.inner.lock(claim, key)

    def finish(self, claim: Claim, outcome: Outcome) -> bool:
        brick = get_registry().get(claim.brick)  # as run_claimed found it (no reload here)
        # A host brick came from its host's queue: this worker may not consume the control one.
        if time.monotonic() >= self.until or brick is None or brick.host_input:
            return self.inner.finish(claim, outcome)
        done, self.next = self.inner.finish_next(claim, outcome)
        return done


def execute_following(run_id: str, node_id: str, attempt: int, ex: StorePatient) -> int:
    """Run this attempt, then each control node an end claimed for this process, for
    ``FOLLOW_S`` at most; how many attempts ran. A stale message is a no-op."""
    following = _Following(ex, time.monotonic() + FOLLOW_S)
    claim, ran = following.claim(run_id, node_id, attempt), 0
    while claim is not None:
        execute_claimed(claim, following)
        claim, following.next = following.next, None
        ran += 1
    return ran
