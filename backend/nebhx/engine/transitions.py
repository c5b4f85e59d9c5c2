"""The engine's state machine: which status may follow which, and the one place they change.

``NODE`` and ``RUN`` give, for each status, the statuses that may follow it and why (the
editor's status legend is generated from them). Every status written goes through this module:
``transition`` (one node), ``transition_many`` (several nodes of a run, one statement),
``queue``, ``claim``, ``queue_claim``, ``finish`` and ``finish_many`` (the hot path's prepared statements, see ``statements``),
``new_nodes`` (rows created in a first status) and ``run_to`` (a run). Each is a
compare-and-set on the status (and the attempt, when given) that writes its typed event in the
same transaction, and each refuses a pair the table does not hold: that is a bug in the engine,
raised at once, never written. ``step`` records what is not a change of status (an attempt
lost, a retry coming, a batch starting).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from nebhx.engine.events import emit
from nebhx.engine.statements import NODES, RUNS, changed, sql
from nebhx.statuses import EventStatus, NodeStatus, RunStatus
from nebhx.store.models import NodeRow, RunRow, utcnow

N, R = NodeStatus, RunStatus
_CANCEL = "the run was cancelled"
_RESUME = "a composite resumes: one of its inner nodes was retried"
_RETRY = "retried by an operator: the node and what follows it run again"

NODE: dict[NodeStatus, dict[NodeStatus, str]] = {
    N.PENDING: {
        N.QUEUED: "its trigger rule holds: sent to a worker or its host's agent",
        N.RUNNING: "a fan-out starts its items, a composite its inner nodes",
        N.SKIPPED: "its trigger rule can no longer hold, or its batch stopped after max_failures",
        N.FAILED: "it cannot start: no host takes it, or its inputs or list are bad",
        N.CANCELLED: _CANCEL},
    N.QUEUED: {
        N.RUNNING: "a worker or agent claimed this attempt",
        N.FAILED: "nobody took it in time, or its host is down",
        N.CANCELLED: _CANCEL},
    N.RUNNING: {
        N.SUCCEEDED: "the brick (every item, every inner node) succeeded",
        N.FAILED: "the brick failed, timed out, or its attempts were lost more often than its retries allow",
        N.WAITING: "the brick waits for an approval",
        N.QUEUED: "a retry after a failure, or its attempt was lost (its worker stopped): a new attempt",
        N.CANCELLED: _CANCEL},
    N.WAITING: {
        N.SUCCEEDED: "approved",
        N.FAILED: "rejected, or its wait timed out",
        N.CANCELLED: _CANCEL},
    N.SUCCEEDED: {N.RUNNING: _RESUME},
    N.FAILED: {N.PENDING: _RETRY, N.RUNNING: _RESUME},
    N.SKIPPED: {N.PENDING: _RETRY, N.RUNNING: _RESUME},
    N.CANCELLED: {N.PENDING: _RETRY, N.RUNNING: _RESUME},
}
NODE_FIRST: dict[NodeStatus, str] = {
    N.PENDING: "every node of a run, item of a fan-out and inner node of a composite starts here",
    N.CANCELLED: "an inner node of a composite started after a cancel, when it is not 'always'",
}
RUN: dict[RunStatus, dict[RunStatus, str]] = {
    R.RUNNING: {R.SUCCEEDED: "every node ended and none failed", R.FAILED: "every node ended, one failed",
                R.CANCELLED: "cancelled by an operator ('always' nodes still run)"},
    R.SUCCEEDED: {R.RUNNING: "a node was retried"},
    R.FAILED: {R.RUNNING: "a node was retried"},
    R.CANCELLED: {R.RUNNING: "a node was retried"},
}
_NODE_PAIRS = frozenset((a, b) for a, tos in NODE.items() for b in tos)
_RUN_PAIRS = frozenset((a, b) for a, tos in RUN.items() for b in tos)


class IllegalTransition(RuntimeError):
    """The engine tried a change of status its table does not allow: a bug, never written."""


def expected(expect: NodeStatus | Iterable[NodeStatus], to: NodeStatus) -> list[NodeStatus]:
    """``expect`` as a list, each of its statuses allowed to become ``to``."""
    froms = [expect] if isinstance(expect, str) else list(expect)
    for a in froms:
        if (a, to) not in _NODE_PAIRS:
            raise IllegalTransition(f"a node may not go from {a} to {to}")
    return froms


def transition(session: Session, run_id: str, node_id: str, to: NodeStatus, *,
               expect: NodeStatus | Iterable[NodeStatus], attempt: int | None = None,
               data: dict[str, Any] | None = None, **values: Any) -> bool:
    """Move one node to ``to`` if its status is ``expect`` (and its attempt ``attempt``),
    with ``values`` and the event (``data``); whether it moved."""
    stmt = update(NODES).where(NODES.c.run_id == run_id, NODES.c.node_id == node_id,
                               NODES.c.status.in_(expected(expect, to)))
    if attempt is not None:
        stmt = stmt.where(NODES.c.attempt == attempt)
    if changed(session.execute(stmt.values(status=to, **values))) != 1:
        return False
    emit(session, run_id, node_id, "node", to, **(data or {}))
    return True


def transition_many(session: Session, run_id: str, ids: Iterable[str], to: NodeStatus, *,
                    expect: NodeStatus | Iterable[NodeStatus], data: dict[str, Any] | None = None,
                    **values: Any) -> list[str]:
    """Move the nodes among ``ids`` whose status is ``expect`` to ``to``; the ids moved."""
    stmt = update(NODES).where(NODES.c.run_id == run_id, NODES.c.node_id.in_(list(ids)),
                               NODES.c.status.in_(expected(expect, to)))
    moved = sorted(session.execute(stmt.values(status=to, **values).returning(NODES.c.node_id)).scalars())
    for nid in moved:
        emit(session, run_id, nid, "node", to, **(data or {}))
    return moved


def queue(session: Session, run_id: str, ids: list[str], *, expect: NodeStatus, to_queue: str,
          host: str | None, due, failures: int | None, countdown: float) -> list[tuple[str, int]]:
    """Queue the nodes among ``ids`` whose status is ``expect``, each under a new attempt
    number; (node id, attempt) of those queued."""
    expected(expect, N.QUEUED)
    rows = session.execute(sql(session).queue, {
        "run": run_id, "ids": ids, "expect": expect, "to_queue": to_queue, "to_host": host,
        "now": due, "set_failures": failures}).all()
    for nid, attempt in rows:
        emit(session, run_id, nid, "node", N.QUEUED, attempt=attempt, queue=to_queue,
             **({"retry_in_s": countdown} if countdown else {}))
    return [(nid, attempt) for nid, attempt in rows]


def claim(session: Session, run_id: str, node_id: str, attempt: int, *, until, on_host: str | None,
          by: str | None) -> bool:
    """Mark this attempt running (on ``on_host`` only, when given); False if it is stale,
    already taken, or routed elsewhere."""
    st = sql(session)
    params = {"run": run_id, "node": node_id, "of_attempt": attempt, "at": utcnow(), "until": until, "by": by}
    if on_host is not None:
        params["on_host"] = on_host
    if st.pg:  # the claim and its event in one statement
        stmt = st.claim_with_event if on_host is None else st.claim_on_host_with_event
        return session.execute(stmt, {**params, "data": {"attempt": attempt}}).first() is not None
    if changed(session.execute(st.claim if on_host is None else st.claim_on_host, params)) != 1:
        return False
    emit(session, run_id, node_id, "node", N.RUNNING, attempt=attempt)
    return True


def queue_claim(session: Session, run_id: str, node_id: str, *, expect: NodeStatus, to_queue: str, until,
                by: str | None) -> int | None:
    """Queue this node under a new attempt and claim it for the caller in the same write
    (``expect`` -> queued -> running, both events): the worker that ended its predecessor runs
    it next, with no message (engine.execute's follow). The attempt, or None if not ``expect``."""
    expected(expect, N.QUEUED)
    expected(N.QUEUED, N.RUNNING)
    at = utcnow()
    attempt = session.execute(sql(session).queue_claim, {
        "run": run_id, "node": node_id, "expect": expect, "to_queue": to_queue, "at": at, "until": until,
        "by": by}).scalar()
    if attempt is None:
        return None
    emit(session, run_id, node_id, "node", N.QUEUED, attempt=attempt, queue=to_queue)
    emit(session, run_id, node_id, "node", N.RUNNING, attempt=attempt)
    return attempt


def claim_many(session: Session, run_id: str, items: list[tuple[str, int]], *, until, by: str | None) -> list[str]:
    """Mark these (node id, attempt) running where still queued under that attempt, each with
    its event (one statement on PostgreSQL); the node ids claimed."""
    st, at = sql(session), utcnow()
    params = {"run": run_id, "at": at, "until": until, "by": by}
    if st.pg:
        return list(session.execute(st.claim_many_with_events, {
            **params, "nodes": [n for n, _ in items], "attempts": [a for _, a in items]}).scalars())
    taken = [nid for nid, attempt in items
             if changed(session.execute(st.claim, {**params, "node": nid, "of_attempt": attempt})) == 1]
    for nid, attempt in items:
        if nid in taken:
            emit(session, run_id, nid, "node", N.RUNNING, attempt=attempt)
    return taken


def finish(session: Session, run_id: str, node_id: str, attempt: int, to: NodeStatus, *,
           error: str | None, log: str, inputs: dict | None, outputs: dict) -> tuple[Any, ...] | None:
    """End this running attempt as ``to`` with what it reported; None if it is no longer the
    node's running attempt. On PostgreSQL the run's row is locked by the same statement and
    (status, finished_at) of the run come back; elsewhere the caller holds the run's lock."""
    expected(N.RUNNING, to)
    st = sql(session)
    params = {"run": run_id, "node": node_id, "of_attempt": attempt, "to": to, "why": error,
              "more_log": log, "shown": inputs, "outs": outputs, "now": utcnow()}
    row: tuple[Any, ...] | None
    if st.pg:
        found = session.execute(st.finish_locking, params).first()
        row = tuple(found) if found is not None else None
    else:
        row = () if changed(session.execute(st.finish, params)) == 1 else None
    if row is not None:
        emit(session, run_id, node_id, "node", to, **({"error": error} if error else {}))
    return row


def finish_many(session: Session, run_id: str, ends: list[tuple[str, int, str, dict, dict]], *,
                to: NodeStatus = N.SUCCEEDED) -> list[str]:
    """End these running attempts, (node id, attempt, log, inputs, outputs) each, as ``to``
    (one statement on PostgreSQL; the caller holds the run's lock); the node ids ended."""
    expected(N.RUNNING, to)
    st, now = sql(session), utcnow()
    if st.pg:
        import json
        moved = list(session.execute(st.finish_many, {
            "run": run_id, "to": str(to), "expect": str(N.RUNNING), "now": now, "nodes": [e[0] for e in ends],
            "attempts": [e[1] for e in ends], "logs": [e[2] for e in ends],
            "inputs": [json.dumps(e[3]) for e in ends], "outputs": [json.dumps(e[4]) for e in ends]}).scalars())
    else:
        moved = [node for node, attempt, log, inputs, outputs in ends if changed(session.execute(st.finish, {
            "run": run_id, "node": node, "of_attempt": attempt, "to": to, "why": None, "more_log": log,
            "shown": inputs, "outs": outputs, "now": now})) == 1]
    for node_id in moved:
        emit(session, run_id, node_id, "node", to)
    return moved


def new_nodes(session: Session, rows: list[NodeRow]) -> None:
    """Add node rows in their first status (pending; cancelled inside a cancelled run)."""
    for row in rows:
        if row.status not in NODE_FIRST:
            raise IllegalTransition(f"a node may not start as {row.status}")
    session.add_all(rows)


def new_run(session: Session, run: RunRow) -> None:
    """Add a run in its first status, running, with its event."""
    run.status = R.RUNNING
    session.add(run)
    session.flush()
    emit(session, run.id, None, "run", R.RUNNING)


def run_to(session: Session, run: Any, to: RunStatus, *, data: dict[str, Any] | None = None,
           event: EventStatus | None = None, **values: Any) -> bool:
    """Move a run (a locked ``RunHead`` or ``RunRow``, kept in step) to ``to``, with its event."""
    if (run.status, to) not in _RUN_PAIRS:
        raise IllegalTransition(f"a run may not go from {run.status} to {to}")
    done = changed(session.execute(update(RUNS).where(RUNS.c.id == run.id, RUNS.c.status == run.status)
                                   .values(status=to, **values))) == 1
    if done:
        set_fields(run, status=to, **values)
        emit(session, run.id, None, "run", event or to, **(data or {}))
    return done


def set_fields(run: Any, **values: Any) -> None:
    """Keep an in-memory run (a ``RunHead``, or a ``RunRow`` without marking it dirty) in step."""
    from sqlalchemy.orm.attributes import set_committed_value
    for key, value in values.items():
        if isinstance(run, RunRow):
            set_committed_value(run, key, value)
        else:
            setattr(run, key, value)


def step(session: Session, run_id: str, node_id: str | None, what: EventStatus, **data: Any) -> None:
    """An event that changes no status: an attempt lost, a retry coming, a batch starting."""
    emit(session, run_id, node_id, "run" if node_id is None else "node", what, **data)


def legend() -> dict[str, Any]:
    """The table as the editor's status legend reads it (frontend/src/api/statuses.json, written
    by ``npm run openapi``): each status, whether it is an end, and what may follow it."""
    from nebhx.statuses import TERMINAL
    return {
        "node": {str(a): {"ended": a in TERMINAL, "first": NODE_FIRST.get(a), "next": {str(b): why for b, why in tos.items()}}
                 for a, tos in NODE.items()},
        "run": {str(a): {"ended": a != R.RUNNING, "next": {str(b): why for b, why in tos.items()}}
                for a, tos in RUN.items()},
    }


if __name__ == "__main__":
    import json
    print(json.dumps(legend(), indent=1))
