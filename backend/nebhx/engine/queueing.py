"""Queueing nodes: each gets a new attempt and goes to its destination's queue in one UPDATE
per destination, its message published after commit; a node no host can take fails. The
scheduler, fan-outs and composites all queue through here (none of them imported by it)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from nebhx.engine import transitions
from nebhx.engine.dispatch import FOLLOW, Dispatch, Follow, publish
from nebhx.engine.plan import Plan
from nebhx.statuses import NodeStatus
from nebhx.store.models import utcnow


def queue_nodes(session: Session, run, plan: Plan, ids: Iterable[str], *, expect: NodeStatus = NodeStatus.PENDING,
                countdown: float = 0.0, failures: int | None = None) -> list[Dispatch]:
    """Move nodes to ``queued``, each with a new attempt number; a node no host can take fails."""
    from nebhx.engine.resolve import route
    routed = []
    for nid in ids:
        try:
            routed.append((nid, route(session, run, plan, nid)))
        except LookupError as exc:
            fail_now(session, run, nid, str(exc), expect=expect)
    return queue_routed(session, run, routed, expect=expect, countdown=countdown, failures=failures)


def queue_node(session: Session, run, plan: Plan, node_id: str, **kw) -> Dispatch | None:
    out = queue_nodes(session, run, plan, [node_id], **kw)
    return out[0] if out else None


def queue_routed(session: Session, run, routed: list[tuple[str, tuple[str, str | None]]], *,
                  expect: NodeStatus, countdown: float, failures: int | None) -> list[Dispatch]:
    """One UPDATE per destination: a fan-out of 200 onto one queue is one statement."""
    groups: dict[tuple[str, str | None], list[str]] = {}
    for nid, dest in routed:
        groups.setdefault(dest, []).append(nid)
    order = {nid: i for i, (nid, _) in enumerate(routed)}
    out: list[Dispatch] = []
    # queued_at is when the message is due: the sweep measures a node's wait (and when its
    # message may be lost) from there, so a retry's backoff is never cut short.
    due = utcnow() + timedelta(seconds=countdown)
    for (queue, host), ids in groups.items():
        rows = transitions.queue(session, run.id, ids, expect=expect, to_queue=queue, host=host, due=due,
                                 failures=failures, countdown=countdown)
        for nid, attempt in sorted(rows, key=lambda r: order[r[0]]):
            out.append(publish(session, Dispatch(run.id, nid, attempt, queue, countdown)))
    return out


def take_followed(session: Session, run, plan: Plan,
                  routed: list[tuple[str, tuple[str, str | None]]]) -> tuple[list[tuple[str, tuple[str, str | None]]], bool]:
    """With a ``Follow`` on the session (a worker ending a node), claim the first of ``routed``
    bound for its queue for that worker (queued and running in one write, no message: the
    round trips of publishing, delivering and claiming it are saved); the others, to queue,
    and whether one was claimed."""
    follow: Follow | None = session.info.get(FOLLOW)
    if follow is None or follow.taken is not None:
        return routed, False
    for i, (nid, dest) in enumerate(routed):
        if dest != (follow.queue, None):
            continue
        attempt = transitions.queue_claim(session, run.id, nid, expect=NodeStatus.PENDING, to_queue=follow.queue,
                                          until=deadline(plan.nodes[nid].timeout_s), by=follow.by)
        if attempt is not None:
            follow.taken = (nid, attempt)
            return routed[:i] + routed[i + 1:], True
    return routed, False


def deadline(node_timeout: float | None) -> datetime | None:
    return utcnow() + timedelta(seconds=node_timeout) if node_timeout else None


def fail_now(session: Session, run, node_id: str, reason: str, *, expect=NodeStatus.PENDING) -> bool:
    return transitions.transition(session, run.id, node_id, NodeStatus.FAILED, expect=expect, error=reason,
                                  finished_at=utcnow(), data={"error": reason})
