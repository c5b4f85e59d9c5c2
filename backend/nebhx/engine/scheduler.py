"""Advance runs: which nodes may start, which are skipped, when a run ends.

Every change of status is a compare-and-set UPDATE on the node row (``WHERE status = ...``,
through ``transitions``, the engine's table of allowed changes), so two workers finishing at once, a redelivered task or several sweepers never start a
node twice. Whoever advances a run first locks its row (SELECT ... FOR UPDATE; SQLite's
BEGIN IMMEDIATE does the same for the whole file): two nodes that finish together would
otherwise each read the other as still running, and their common successor never start.
Claiming a node does not advance anything, so it does not take that lock and claims run
side by side. Queued nodes are published only after the transaction that queued them commits.

This is the engine's hot path: statements built once (``statements``), not ORM objects.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functools import cache

from sqlalchemy import ARRAY, String, bindparam, func, select, update
from sqlalchemy.orm import Session

from nebhx.engine import transitions
from nebhx.engine.dispatch import Dispatch
from nebhx.engine.plan import READY, SKIP, TERMINAL, Plan, trigger_state
# Re-exported: claims and the sweep queue nodes through the scheduler.
from nebhx.engine.queueing import fail_now as fail_now
from nebhx.engine.queueing import queue_node as queue_node
from nebhx.engine.queueing import queue_nodes as queue_nodes
from nebhx.engine.queueing import deadline as deadline
from nebhx.engine.queueing import queue_routed, take_followed
from nebhx.engine.statements import NODES, RUNS, changed, sql
from nebhx.statuses import EventStatus, NodeStatus, RunStatus, TriggerRule
from nebhx.store.models import NodeRow, RunRow, utcnow


@dataclass
class RunHead:
    """The columns of a run the engine reads; a ``RunRow`` serves as well."""
    id: str
    graph_id: str
    revision: int
    status: str
    inputs: dict[str, Any]
    finished_at: datetime | None


_heads: OrderedDict[str, RunHead] = OrderedDict()


def lock_run(session: Session, run_id: str) -> RunHead | None:
    """Read a run and hold its row until commit: needed by whoever advances it."""
    row = session.execute(sql(session).lock_run, {"run": run_id}).first()
    return RunHead(*row) if row else None


def run_head(session: Session, run_id: str) -> RunHead | None:
    """A run's graph, revision and inputs, which never change, read once per process.

    Its status may be stale: only for callers that do not advance the run.
    """
    head = _heads.get(run_id)
    if head is None:
        row = session.execute(sql(session).read_run, {"run": run_id}).first()
        if row is None:
            return None
        head = _heads[run_id] = RunHead(*row)
        if len(_heads) > 1024:
            _heads.popitem(last=False)
    return head


def note(session: Session, run_id: str, node_id: str, expect: NodeStatus, *, attempt: int, **values) -> bool:
    """Write ``values`` (never the status: ``transitions`` does) on this attempt of the node
    while its status is ``expect``; whether it did."""
    if "status" in values:
        raise transitions.IllegalTransition("a status is written by engine.transitions only")
    return changed(session.execute(update(NODES).where(
        NODES.c.run_id == run_id, NODES.c.node_id == node_id, NODES.c.status == expect,
        NODES.c.attempt == attempt).values(**values))) == 1


@cache
def _statuses(pg: bool):
    """Statuses of nodes by id, composites' inner nodes included (they have a ``parent`` too)."""
    ids = (NODES.c.node_id == func.any(bindparam("ids", type_=ARRAY(String))) if pg
           else NODES.c.node_id.in_(bindparam("ids", expanding=True)))
    return select(NODES.c.node_id, NODES.c.status).where(NODES.c.run_id == bindparam("run"), ids)


def statuses_of(session: Session, run_id: str, ids: Iterable[str] | None = None) -> dict[str, str]:
    if ids is not None:
        stmt = _statuses(sql(session).pg)
        return dict(session.execute(stmt, {"run": run_id, "ids": list(ids)}).all())
    return dict(session.execute(select(NODES.c.node_id, NODES.c.status).where(
        NODES.c.run_id == run_id, NODES.c.parent.is_(None))).all())


class _Statuses(dict):
    """Node statuses read on demand, all the predecessors of the candidates in one query.

    A candidate's own status is not read: it is taken as pending, and every step on it is a
    compare-and-set on ``pending``, so a wrong guess changes nothing (``assumed`` lists
    those guesses; predecessors are always read for real). A wide fan-in (200
    predecessors) is not read row by row on each of its 200 completions: every
    predecessor's end is evaluated as it happens, under the run lock, so while the node is
    still pending no earlier end decided it. Only the one that just ended (the cause) can,
    and otherwise the question is whether any predecessor is still open.
    """

    WIDE = 16

    def __init__(self, session: Session, run_id: str, plan: Plan, known: dict[str, str]):
        super().__init__(known)
        self.session, self.run_id, self.plan = session, run_id, plan
        self.assumed: set[str] = set()
        self.open_seen = False  # a node read as not ended yet: the run cannot end now

    def own(self, node_id: str) -> str:
        if node_id not in self:
            self[node_id] = NodeStatus.PENDING
            self.assumed.add(node_id)
        return self[node_id]

    def settle(self, node_id: str, status: str) -> None:
        self[node_id] = status
        self.assumed.discard(node_id)

    def fetch(self, ids: Iterable[str]) -> None:
        want = [n for n in set(ids) if n not in self or n in self.assumed]
        for node_id, status in statuses_of(self.session, self.run_id, want).items() if want else ():
            self.settle(node_id, status)

    def load_preds(self, ids: Iterable[str]) -> None:
        narrow = (self.plan.preds.get(n, []) for n in ids)
        self.fetch(p for preds in narrow if len(preds) <= self.WIDE for p in preds)

    def of_preds(self, node_id: str, cause: str | None) -> list[str]:
        preds = self.plan.preds.get(node_id, [])
        if len(preds) <= self.WIDE:
            return [self[p] for p in preds]
        st, params = sql(self.session), {"run": self.run_id, "ids": preds}
        if cause in preds:
            self.fetch([cause])
            if self.session.execute(st.open_among, params).first():
                self.open_seen = True
                return [self[cause], NodeStatus.PENDING]
        rows = self.session.execute(st.count_among, params)
        return [status for status, n in rows for _ in range(n)]


def advance(session: Session, run, plan: Plan, candidates: Iterable[str], *,
            cause: str | None = None, known: dict[str, str] | None = None) -> list[Dispatch]:
    """Start every candidate whose trigger rule holds, skip those whose rule cannot.

    ``cause`` is the node whose end made them candidates, if one did; ``known``, statuses
    the caller already knows. The caller holds the run's lock (``lock_run``), so the
    statuses read here are final.
    """
    from nebhx.engine.resolve import route
    work = [(nid, cause) for nid in candidates]
    statuses = _Statuses(session, run.id, plan, dict(known or {}))
    statuses.load_preds(nid for nid, _ in work)
    routed: list[tuple[str, tuple[str, str | None]]] = []
    cancelled = run.status == RunStatus.CANCELLED
    while work:
        nid, why = work.pop(0)
        statuses.load_preds([nid])
        if statuses.own(nid) != NodeStatus.PENDING or (cancelled and plan.nodes[nid].trigger != TriggerRule.ALWAYS):
            continue
        node = plan.nodes[nid]
        state = trigger_state(node.trigger, statuses.of_preds(nid, why))
        if state == READY and (node.for_each or nid in plan.composites):
            if (now := _expand(session, run, plan, nid)) is not None:
                statuses.settle(nid, now)
        elif state == READY:
            try:
                routed.append((nid, route(session, run, plan, nid)))
                statuses[nid] = NodeStatus.QUEUED  # still a guess until the UPDATE below says so
            except LookupError as exc:
                if fail_now(session, run, nid, str(exc)):
                    statuses.settle(nid, NodeStatus.FAILED)
        elif state == SKIP and transitions.transition(
                session, run.id, nid, NodeStatus.SKIPPED, expect=NodeStatus.PENDING, finished_at=utcnow(),
                data={"reason": "trigger rule cannot hold"}):
            statuses.settle(nid, NodeStatus.SKIPPED)
        if statuses[nid] in TERMINAL:
            work.extend((succ, nid) for succ in plan.succs.get(nid, []))
    routed, followed = take_followed(session, run, plan, routed)  # a worker ending a node may run one itself
    out = queue_routed(session, run, routed, expect=NodeStatus.PENDING, countdown=0.0, failures=None)
    if not out and not followed and not statuses.open_seen and all(status in TERMINAL for nid, status in statuses.items() if nid not in statuses.assumed):
        _maybe_finish(session, run, plan)  # a pending or running node above means: not yet
    return out


def _expand(session: Session, run, plan: Plan, nid: str) -> str | None:
    """Start a node that runs as child rows: a fan-out's items, or a composite's inner nodes."""
    if nid in plan.composites:
        from nebhx.engine.composite import start
        return start(session, run, plan, nid, advance)
    from nebhx.engine.fanout import expand
    return expand(session, run, plan, nid)


def _maybe_finish(session: Session, run, plan: Plan) -> None:
    if run.finished_at is not None:
        return
    left = session.scalar(select(func.count()).where(
        NODES.c.run_id == run.id, NODES.c.parent.is_(None), NODES.c.status.not_in(TERMINAL)))
    if left:
        return
    from nebhx.engine.resolve import graph_outputs
    failed = list(session.scalars(select(NODES.c.node_id).where(
        NODES.c.run_id == run.id, NODES.c.parent.is_(None), NODES.c.status == NodeStatus.FAILED)))
    values: dict[str, Any] = dict(finished_at=utcnow(), outputs=graph_outputs(session, run, plan),
                                  error=f"failed nodes: {', '.join(failed)}" if failed else None)
    if run.status == RunStatus.CANCELLED:  # a cancelled run ends as it is, once its "always" nodes ran
        session.execute(update(RUNS).where(RUNS.c.id == run.id).values(**values))
        transitions.set_fields(run, **values)
        transitions.step(session, run.id, None, EventStatus.CANCELLED, failed=failed)
        return
    transitions.run_to(session, run, RunStatus.FAILED if failed else RunStatus.SUCCEEDED,
                       data={"failed": failed}, **values)


def start_run(session: Session, run: RunRow, plan: Plan) -> list[Dispatch]:
    run.started_at = utcnow()
    transitions.new_run(session, run)
    transitions.new_nodes(session, [NodeRow(run_id=run.id, node_id=node.id, brick=node.brick,
                                            status=NodeStatus.PENDING) for node in plan.graph.nodes])
    session.flush()
    return advance(session, run, plan, [n.id for n in plan.graph.nodes if not plan.preds.get(n.id)])


def after_node(session: Session, run, plan: Plan, node_id: str, status: str | None = None) -> list[Dispatch]:
    """A node (or a fan-out instance, or an inner node of a composite) reached a terminal
    ``status``: its successors may start, and its fan-out or composite may end."""
    from nebhx.engine.fanout import gather
    from nebhx.engine.resolve import split_id
    base, index = split_id(node_id)
    if index is not None:
        status = gather(session, run, plan, base)
        if status is None:
            return []
        node_id = base
    out = advance(session, run, plan, plan.succs.get(node_id, []), cause=node_id,
                  known={node_id: status} if status else None)
    if node_id in plan.parents:  # an inner node of a composite: the composite may end now
        from nebhx.engine.composite import settle
        out += settle(session, run, plan, plan.parents[node_id], after_node)
    return out


def backoff_s(failures: int, base: float) -> float:
    return min(base * (2 ** max(failures - 1, 0)), 300.0)

