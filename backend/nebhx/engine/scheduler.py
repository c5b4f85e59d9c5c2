"""Advance runs: which nodes may start, which are skipped, when a run ends.

Every transition is a compare-and-set UPDATE on the node row (``WHERE status = ...``),
so two workers finishing at once, a redelivered task or several sweepers never start a
node twice. Whoever advances a run first locks its row (SELECT ... FOR UPDATE; SQLite's
BEGIN IMMEDIATE does the same for the whole file): two nodes that finish together would
otherwise each read the other as still running, and their common successor never start.
Queued nodes are published only after the transaction that queued them commits.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from nebhx.engine.events import emit
from nebhx.engine.plan import TERMINAL, Plan, trigger_state
from nebhx.store.models import NodeRow, RunRow, utcnow


@dataclass
class Dispatch:
    run_id: str
    node_id: str
    attempt: int
    queue: str
    countdown: float = 0.0


def cas(session: Session, run_id: str, node_id: str, expect: str | Iterable[str], *,
        returning=None, **values):
    """Set ``values`` on the node only if its status is ``expect``.

    Returns whether it did, or with ``returning`` (a column) that column's new value or None.
    """
    expect = [expect] if isinstance(expect, str) else list(expect)
    attempt = values.pop("_attempt", None)
    stmt = update(NodeRow).where(NodeRow.run_id == run_id, NodeRow.node_id == node_id,
                                 NodeRow.status.in_(expect))
    if attempt is not None:
        stmt = stmt.where(NodeRow.attempt == attempt)
    stmt = stmt.values(**values).execution_options(synchronize_session=False)
    if returning is not None:
        return session.execute(stmt.returning(returning)).scalar_one_or_none()
    return session.execute(stmt).rowcount == 1


def statuses_of(session: Session, run_id: str, ids: Iterable[str] | None = None) -> dict[str, str]:
    stmt = select(NodeRow.node_id, NodeRow.status).where(NodeRow.run_id == run_id, NodeRow.parent.is_(None))
    if ids is not None:
        stmt = stmt.where(NodeRow.node_id.in_(list(ids)))
    return dict(session.execute(stmt).tuples().all())


class _Statuses(dict):
    """Node statuses read on demand: a fan-in of 200 reads its preds, not the whole run."""

    def __init__(self, session: Session, run_id: str, plan: Plan, candidates: list[str]):
        super().__init__()
        self.session, self.run_id, self.plan = session, run_id, plan
        self.load(candidates)

    def load(self, ids: Iterable[str]) -> None:
        want = {p for n in ids for p in (n, *self.plan.preds.get(n, []))} - self.keys()
        if want:
            self.update(statuses_of(self.session, self.run_id, want))


def queue_node(session: Session, run: RunRow, plan: Plan, node_id: str, *, expect: str = "pending",
               countdown: float = 0.0, failures: int | None = None) -> Dispatch | None:
    """Move a node to ``queued`` with a new attempt number and say where to send it."""
    from nebhx.engine.resolve import route
    try:
        queue, host = route(session, run, plan, node_id)
    except LookupError as exc:
        fail_now(session, run, node_id, str(exc), expect=expect)
        return None
    values = dict(status="queued", attempt=NodeRow.attempt + 1, queue=queue, host=host,
                  queued_at=utcnow(), heartbeat_at=None, deadline_at=None)
    if failures is not None:
        values["failures"] = failures
    attempt = cas(session, run.id, node_id, expect, returning=NodeRow.attempt, **values)
    if attempt is None:
        return None
    emit(session, run.id, node_id, "node", "queued", attempt=attempt, queue=queue,
         **({"retry_in_s": countdown} if countdown else {}))
    return publish(session, Dispatch(run.id, node_id, attempt, queue, countdown))


def publish(session: Session, dispatch: Dispatch) -> Dispatch:
    """Send ``dispatch`` once the session's transaction commits (see ``session_scope``)."""
    session.info.setdefault("dispatch", []).append(dispatch)
    return dispatch


def fail_now(session: Session, run: RunRow, node_id: str, reason: str, *, expect="pending") -> None:
    if cas(session, run.id, node_id, expect, status="failed", error=reason, finished_at=utcnow()):
        emit(session, run.id, node_id, "node", "failed", error=reason)


def advance(session: Session, run: RunRow, plan: Plan, candidates: Iterable[str]) -> list[Dispatch]:
    """Start every candidate whose trigger rule holds, skip those whose rule cannot."""
    work = list(candidates)
    statuses = _Statuses(session, run.id, plan, work)
    out: list[Dispatch] = []
    cancelled = run.status == "cancelled"
    while work:
        nid = work.pop(0)
        statuses.load([nid])
        if statuses.get(nid) != "pending":
            continue
        node = plan.nodes[nid]
        if cancelled and node.trigger != "always":
            continue
        state = trigger_state(node.trigger, [statuses[p] for p in plan.preds.get(nid, [])])
        if state == "ready" and node.for_each:
            from nebhx.engine.fanout import expand
            statuses[nid] = expand(session, run, plan, nid) or statuses[nid]
            if statuses[nid] in TERMINAL:
                work.extend(plan.succs.get(nid, []))
        elif state == "ready":
            d = queue_node(session, run, plan, nid)
            if d:
                out.append(d)
                statuses[nid] = "queued"
            elif session.scalar(select(NodeRow.status).where(
                    NodeRow.run_id == run.id, NodeRow.node_id == nid)) == "failed":
                statuses[nid] = "failed"
                work.extend(plan.succs.get(nid, []))
        elif state == "skip" and cas(session, run.id, nid, "pending", status="skipped",
                                     finished_at=utcnow()):
            emit(session, run.id, nid, "node", "skipped", reason="trigger rule cannot hold")
            statuses[nid] = "skipped"
            work.extend(plan.succs.get(nid, []))
    if not out:  # a run that just queued a node is not finished
        _maybe_finish(session, run, plan)
    return out


def _maybe_finish(session: Session, run: RunRow, plan: Plan) -> None:
    if run.finished_at is not None:
        return
    left = session.scalar(select(func.count()).where(
        NodeRow.run_id == run.id, NodeRow.parent.is_(None), NodeRow.status.not_in(TERMINAL)))
    if left:
        return
    from nebhx.engine.resolve import graph_outputs
    failed = list(session.scalars(select(NodeRow.node_id).where(
        NodeRow.run_id == run.id, NodeRow.parent.is_(None), NodeRow.status == "failed")))
    status = run.status if run.status == "cancelled" else ("failed" if failed else "succeeded")
    run.status, run.finished_at = status, utcnow()
    run.error = f"failed nodes: {', '.join(failed)}" if failed else None
    run.outputs = graph_outputs(session, run, plan)
    emit(session, run.id, None, "run", status, failed=failed)


def start_run(session: Session, run: RunRow, plan: Plan) -> list[Dispatch]:
    run.started_at = utcnow()
    for node in plan.graph.nodes:
        session.add(NodeRow(run_id=run.id, node_id=node.id, brick=node.brick, status="pending"))
    session.flush()
    emit(session, run.id, None, "run", "running")
    return advance(session, run, plan, [n.id for n in plan.graph.nodes if not plan.preds.get(n.id)])


def after_node(session: Session, run: RunRow, plan: Plan, node_id: str) -> list[Dispatch]:
    """A node (or a fan-out instance) reached a terminal status: its successors may start."""
    from nebhx.engine.fanout import gather
    from nebhx.engine.resolve import split_id
    base, index = split_id(node_id)
    if index is not None:
        if gather(session, run, plan, base) is None:
            return []
        node_id = base
    return advance(session, run, plan, plan.succs.get(node_id, []))


def backoff_s(failures: int, base: float) -> float:
    return min(base * (2 ** max(failures - 1, 0)), 300.0)


def deadline(node_timeout: float | None):
    return utcnow() + timedelta(seconds=node_timeout) if node_timeout else None
