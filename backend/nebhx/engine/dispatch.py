"""Nodes queued in a transaction reach the broker once it commits, never before.

``publish`` keeps a dispatch on the session; the engine's after-commit hook hands the
transaction's dispatches to the sender (Celery's, ``celery_app.send``; tests swap it), and a
rollback drops them. A worker so never picks up a node whose row it cannot see yet, and the
store itself publishes nothing.

A fan-out's items that run on a control worker are marked with a ``chunk`` (their node): the
sender puts many of them in one message (``chunks``), so a 1,000-item fan-out is a few dozen
messages, not a thousand; each item is still claimed and ended on its own row.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session

from nebhx.attempt.claims import Claim

KEY = "dispatch"


@dataclass
class Dispatch:
    run_id: str
    node_id: str
    attempt: int
    queue: str
    countdown: float = 0.0
    chunk: str | None = None  # dispatches with the same chunk may travel in one message


FOLLOW = "follow"


@dataclass
class Follow:
    """Set on a session by a worker ending a node: one successor this transaction readies for
    ``queue`` is claimed for that worker instead of being published (``queueing.take_followed``),
    and the worker runs it next; ``taken`` is its (node id, attempt), ``claim`` what the
    worker runs (prepared before commit)."""
    queue: str
    by: str | None
    taken: tuple[str, int] | None = None
    claim: Claim | None = None


def publish(session: Session, dispatch: Dispatch) -> Dispatch:
    """Send ``dispatch`` once the session's transaction commits."""
    session.info.setdefault(KEY, []).append(dispatch)
    return dispatch


@event.listens_for(Session, "after_commit")
def _send(session: Session) -> None:
    dispatches = session.info.pop(KEY, None)
    if dispatches:
        from nebhx.engine import celery_app  # looked up here: tests and embedded runs swap send
        celery_app.send(dispatches)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(KEY, None)
