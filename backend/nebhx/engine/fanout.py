"""Fan-out (``for_each``): one instance of a node per item of a list, gathered as lists.

The parent row stays ``running`` while its instances (``web[0]``, ``web[1]``...) run as
ordinary nodes, each with its own status, log, retries and queue (so a fan-out over
hosts runs each item on its host). When the last instance ends, the parent ends with
every output port as a list in item order (None for an item that did not succeed).

Batches (the node's ``batch``, ``max_parallel``, ``pause_s``, ``max_failures``): every
instance row is written when the node starts, but only what may start is queued. Each
time an instance ends, ``gather`` (under the run's lock, like every advance) decides the
next step from the instance rows alone: more of the current batch when ``max_parallel``
left room; the next batch once the current one has ended, queued with the pause as its
countdown (no worker sleeps; ``queued_at`` is when it is due, so the sweep sends it again
if a dead worker took its message along); or, once more than ``max_failures`` items
failed, the rest skipped. Starting an instance is the compare-and-set ``pending ->
queued`` and commits with the end that caused it: a crash neither loses nor repeats a batch.
Without these settings every item starts at once, as one batch.
"""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nebhx.bricks.registry import get_registry
from nebhx.engine import queueing, transitions
from nebhx.engine.plan import ACTIVE, TERMINAL, Plan
from nebhx.engine.resolve import CONTROL_QUEUE, item_id, resolve_inputs
from nebhx.graph_model import Node, portion
from nebhx.statuses import EventStatus, NodeStatus, RunStatus
from nebhx.store.models import NodeRow, utcnow

N = NodeStatus


class Item(NamedTuple):
    node_id: str
    pos: int  # the item's index in the list
    status: NodeStatus
    outputs: dict | None = None
    error: str | None = None


def expand(session: Session, run, plan: Plan, nid: str) -> str | None:
    """Start a ``for_each`` node; returns its new status (None when another process did)."""
    node = plan.nodes[nid]
    try:
        items = resolve_inputs(session, run, plan, nid).get(node.for_each or "")
    except LookupError as exc:
        return N.FAILED if queueing.fail_now(session, run, nid, str(exc)) else None
    if not isinstance(items, list):
        return N.FAILED if queueing.fail_now(session, run, nid, f"for_each input {node.for_each!r} "
                                              f"must be a list, got {type(items).__name__}") else None
    if not transitions.transition(session, run.id, nid, N.RUNNING, expect=N.PENDING, started_at=utcnow(),
                                  finished_at=None, error=None, data={"items": len(items)}):
        return None
    transitions.new_nodes(session, [NodeRow(run_id=run.id, node_id=item_id(nid, i), brick=node.brick,
                                            status=N.PENDING, parent=nid, item_index=i, item=item)
                                    for i, item in enumerate(items)])
    session.flush()
    fresh = [Item(item_id(nid, i), i, N.PENDING) for i in range(len(items))]
    return gather(session, run, plan, nid, fresh) or N.RUNNING


def gather(session: Session, run, plan: Plan, parent: str, rows: list[Item] | None = None) -> str | None:
    """Start the instances of ``parent`` that may start now, and end ``parent`` once every
    instance has ended; returns its status, or None while it runs."""
    node = plan.nodes[parent]
    if rows is None:
        counts = _counts(session, run.id, parent)
        if not counts.get(N.PENDING) or run.status == RunStatus.CANCELLED:  # nothing to start: count, not read
            if any(status not in TERMINAL for status in counts):
                return None
            return _end(session, run, plan, parent, _instances(session, run.id, parent, full=True))
        rows = _instances(session, run.id, parent)
    while _start_more(session, run, plan, node, rows):
        rows = _instances(session, run.id, parent)  # some ended without running: look again
    if any(r.status not in TERMINAL for r in rows):
        return None
    return _end(session, run, plan, parent, _instances(session, run.id, parent, full=True))


def _instances(session: Session, run_id: str, parent: str, full: bool = False) -> list[Item]:
    """The instances' states; their outputs and errors only when ``full`` (read once, at the
    end: every instance's end reads the states, and with the outputs a 1,000-item fan-out
    read its outputs a thousand times over, bench/fleet.py)."""
    cols = [NodeRow.node_id, NodeRow.item_index, NodeRow.status] + ([NodeRow.outputs, NodeRow.error] if full else [])
    return [Item(*r) for r in session.execute(
        select(*cols).where(NodeRow.run_id == run_id, NodeRow.parent == parent).order_by(NodeRow.item_index)).all()]


def _counts(session: Session, run_id: str, parent: str) -> dict[str, int]:
    """How many instances are in each status: one aggregate, not a row per instance (each of
    a 1,000-item fan-out's ends read all 1,000 rows: bench/fanout.py)."""
    return dict(session.execute(select(NodeRow.status, func.count()).where(
        NodeRow.run_id == run_id, NodeRow.parent == parent).group_by(NodeRow.status)).all())


def _start_more(session: Session, run, plan: Plan, node: Node, rows: list[Item]) -> bool:
    """Queue what may start now; True when instances ended without running (read them again)."""
    pending = [r for r in rows if r.status == N.PENDING]
    if not pending or run.status == RunStatus.CANCELLED:
        return False
    failed = sum(r.status == N.FAILED for r in rows)
    if node.max_failures is not None and failed > node.max_failures:
        return _skip_rest(session, run, node, pending, failed)
    size = portion(node.batch, len(rows)) if node.batch is not None else len(rows)
    current = min(r.pos for r in rows if r.status not in TERMINAL) // size
    todo = [r for r in pending if r.pos // size == current]
    room = (node.max_parallel or len(rows)) - sum(r.status in ACTIVE for r in rows)
    if not todo or room <= 0:
        return False
    in_batch = [r for r in rows if r.pos // size == current]
    new_batch = len(todo) == len(in_batch)
    countdown = float(node.pause_s or 0) if new_batch and current > 0 else 0.0
    ids = [r.node_id for r in todo[:room]]
    if new_batch and size < len(rows):
        transitions.step(session, run.id, node.id, EventStatus.RUNNING, batch=current + 1,
                         batches=-(-len(rows) // size), items=[r.node_id for r in in_batch], starts_in_s=countdown)
    sent = queueing.queue_nodes(session, run, plan, ids, countdown=countdown)
    for d in sent:  # control items without a timeout of their own may share a message (dispatch.chunks)
        d.chunk = node.id if d.queue == CONTROL_QUEUE and node.timeout_s is None else None
    return len(sent) < len(ids)


def _skip_rest(session: Session, run, node: Node, pending: list[Item], failed: int) -> bool:
    reason = f"not started: {failed} items failed (max_failures {node.max_failures})"
    transitions.transition_many(session, run.id, [r.node_id for r in pending], N.SKIPPED, expect=N.PENDING,
                                error=reason, finished_at=utcnow(), data={"reason": reason})
    return True


def _end(session: Session, run, plan: Plan, parent: str, rows: list[Item]) -> str | None:
    spec = get_registry().specs.get(plan.nodes[parent].brick, {"outputs": []})
    outputs = {p["name"]: [(r.outputs or {}).get(p["name"]) if r.status == N.SUCCEEDED else None
                           for r in rows] for p in spec["outputs"]}
    failed = [(r.node_id, r.error or r.status) for r in rows if r.status != N.SUCCEEDED]
    status = N.SUCCEEDED if not failed else N.FAILED
    error = None if not failed else (f"{len(failed)} of {len(rows)} items did not succeed: " +
                                     "; ".join(f"{nid}: {err}" for nid, err in failed[:3]))
    if not transitions.transition(session, run.id, parent, status, expect=N.RUNNING, outputs=outputs,
                                  error=error, finished_at=utcnow(), data={"error": error} if error else None):
        return None
    return status
