"""Claims and outcomes that wait out a restarting store instead of being dropped.

A worker whose database restarted finds every pooled connection dead. Without patience
the claim of the next message failed (the node stayed queued until the sweep's slow path
sent it again) and the outcome of a node that had just run was lost (the node ran again
after its lease expired). Both steps are compare-and-sets, so doing one twice is a no-op:
a claim that committed before its answer was lost comes back None, and the node is
recovered by its lease, as after a worker loss.
"""
from __future__ import annotations

import logging
import time

from sqlalchemy.exc import DBAPIError, OperationalError

from nebhx.engine.claims import Claim, DbExecution, Outcome
from nebhx.settings import get_settings

log = logging.getLogger("nebhx.engine")


def _transient(exc: Exception) -> bool:
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


class StorePatient:
    """A ``DbExecution`` whose claim and finish retry while the store is unreachable."""

    def __init__(self, inner: DbExecution, patience_s: float | None = None):
        self.inner = inner
        # Past four leases the sweep takes over anyway (a queued node is sent again, a
        # running one whose lease expired is dispatched under a new attempt).
        self.patience_s = get_settings().lease_s * 4 if patience_s is None else patience_s

    def claim(self, run_id: str, node_id: str, attempt: int) -> Claim | None:
        return self._patiently(f"claim {run_id}/{node_id}", self.inner.claim, run_id, node_id, attempt)

    def claim_many(self, run_id: str, items: list[tuple[str, int]]) -> list[Claim]:
        return self._patiently(f"claim {len(items)} items of run {run_id}", self.inner.claim_many, run_id, items)

    def renew(self, claim: Claim, log_chunk: str) -> bool:
        return self.inner.renew(claim, log_chunk)  # the heartbeat retries at its next beat

    def lock(self, claim: Claim, key: dict[str, str]) -> dict | None:
        return self._patiently(f"lock {claim.run_id}/{claim.node_id}", self.inner.lock, claim, key)

    def finish(self, claim: Claim, outcome: Outcome) -> bool:
        return self._patiently(f"finish {claim.run_id}/{claim.node_id}", self.inner.finish, claim, outcome)

    def finish_next(self, claim: Claim, outcome: Outcome) -> tuple[bool, Claim | None]:
        return self._patiently(f"finish {claim.run_id}/{claim.node_id}", self.inner.finish_next, claim, outcome)

    def finish_many(self, ends: list[tuple[Claim, Outcome]]) -> None:
        self._patiently(f"finish {len(ends)} items of run {ends[0][0].run_id}", self.inner.finish_many, ends)

    def _patiently(self, what: str, fn, *args):
        deadline, delay = time.monotonic() + self.patience_s, 0.2
        while True:
            try:
                return fn(*args)
            except Exception as exc:
                if not _transient(exc) or time.monotonic() + delay > deadline:
                    raise
                log.warning("%s: the store is unreachable (%s); again in %.1fs", what, exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 1.0)  # well inside a lease: see Sweeper
