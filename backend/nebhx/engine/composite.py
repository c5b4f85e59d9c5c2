"""Composite nodes at run time: a stored graph revision run as one node, much like a fan-out.

A run's plan holds the inner nodes of its composites (``inline_all``): ids prefixed with the
composite node's (``update:switch``; nested, ``outer:update:switch``; a fan-out inside,
``update:web[0]``), their edges as in the inner graph. When a composite node is ready,
``start`` records its resolved inputs on its row (an inner ``{"$input": name}`` reads them),
writes one row per inner node with ``parent`` = the composite node, and advances the inner
roots. From there each inner node is an ordinary node: the same compare-and-set transitions,
under the same run lock, dispatched after commit. Whenever an inner node ends, ``settle`` (in
that same transaction) ends the composite once every inner node has ended: failed when one
failed (naming it), cancelled when one was cancelled, else succeeded with the inner graph's
outputs; then its own successors advance as after any node. No state lives outside the rows,
so the sweep recovers the inner nodes as any others, and the composite follows them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from nebhx.engine import queueing, transitions
from nebhx.engine.dispatch import Dispatch
from nebhx.engine.plan import TERMINAL, Plan
from nebhx.engine.resolve import resolve_inputs
from nebhx.engine.library import MAX_NESTING, SEP, Library, is_composite
from nebhx.graph_model import Edge, Graph
from nebhx.statuses import NodeStatus, RunStatus, TriggerRule
from nebhx.store.models import NodeRow, utcnow

N = NodeStatus
# The scheduler's own steps, given by it: it starts and settles composites, so this module
# does not import it.
Advance = Callable[..., list[Dispatch]]
AfterNode = Callable[..., list[Dispatch]]


@dataclass
class Composite:
    gid: str
    rev: int
    graph: Graph
    children: list[str]  # the inner nodes' ids in the run, in the inner graph's order
    roots: list[str]  # those without inner predecessors: they start with the composite
    outputs: list[tuple[str, str, str]]  # (output name, inner node id in the run, port)


def inline_all(plan: Plan, session: Session) -> Plan:
    """``plan`` with the inner nodes of its composites (and theirs) added."""
    lib = Library(session)
    for node in list(plan.graph.nodes):
        if is_composite(node.brick):
            _inline(plan, node.id, node.brick, lib, 1)
    return plan


def _inline(plan: Plan, cid: str, brick: str, lib: Library, depth: int) -> None:
    found = lib.lookup(brick)  # validated when the graph was saved; revisions never change
    if isinstance(found, str) or depth > MAX_NESTING:
        raise LookupError(f"composite node {cid}: {found if isinstance(found, str) else 'nested too deep'}")
    gid, rev, graph = found
    inner, p = Plan.of(graph), cid + SEP
    for n in graph.nodes:
        plan.nodes[p + n.id] = n.model_copy(update={"id": p + n.id})
        plan.parents[p + n.id] = cid
    plan.preds.update({p + k: [p + v for v in vs] for k, vs in inner.preds.items()})
    plan.succs.update({p + k: [p + v for v in vs] for k, vs in inner.succs.items()})
    plan.wires.update({p + k: [_moved(e, p) for e in es] for k, es in inner.wires.items()})
    plan.composites[cid] = Composite(
        gid, rev, graph, [p + n.id for n in graph.nodes],
        [p + n.id for n in graph.nodes if not inner.preds.get(n.id)],
        [(o.name, p + o.from_.node, o.from_.port) for o in graph.outputs])
    for n in graph.nodes:
        if is_composite(n.brick):
            _inline(plan, p + n.id, n.brick, lib, depth + 1)


def _moved(edge: Edge, prefix: str) -> Edge:
    return Edge.model_validate({"from": {"node": prefix + edge.from_.node, "port": edge.from_.port},
                                "to": {"node": prefix + edge.to.node, "port": edge.to.port}})


def ancestors(plan: Plan, node_id: str) -> list[str]:
    """The composites ``node_id`` runs inside, nearest first."""
    out = []
    while node_id in plan.parents:
        node_id = plan.parents[node_id]
        out.append(node_id)
    return out


def start(session: Session, run, plan: Plan, cid: str, advance: Advance) -> str | None:
    """Start a ready composite node; its new status (None when another process did). Its inner
    roots start through ``advance`` (the scheduler's, which calls this one)."""
    comp = plan.composites[cid]
    try:
        inputs = resolve_inputs(session, run, plan, cid)
    except LookupError as exc:
        return N.FAILED if queueing.fail_now(session, run, cid, str(exc)) else None
    if not transitions.transition(session, run.id, cid, N.RUNNING, expect=N.PENDING, started_at=utcnow(),
                                  finished_at=None, error=None, inputs=inputs, outputs={},
                                  data={"graph": comp.gid, "revision": comp.rev, "nodes": len(comp.children)}):
        return None
    # Started after a cancel (an "always" composite): only its "always" nodes may run.
    cancelled = run.status == RunStatus.CANCELLED
    now, rows = [], []
    for nid in comp.children:
        off = cancelled and plan.nodes[nid].trigger != TriggerRule.ALWAYS
        rows.append(NodeRow(run_id=run.id, node_id=nid, brick=plan.nodes[nid].brick, parent=cid,
                            status=N.CANCELLED if off else N.PENDING,
                            **({"finished_at": utcnow(), "error": "run cancelled"} if off else {})))
        if not off and (cancelled or nid in comp.roots):
            now.append(nid)
    transitions.new_nodes(session, rows)
    session.flush()
    advance(session, run, plan, now)
    return end_if_done(session, run, plan, cid) or N.RUNNING


def settle(session: Session, run, plan: Plan, cid: str, after_node: AfterNode) -> list[Dispatch]:
    """An inner node of ``cid`` ended: end ``cid`` if it was the last, and advance past it
    (``after_node``: the scheduler's)."""
    status = end_if_done(session, run, plan, cid)
    return after_node(session, run, plan, cid, status) if status else []


def end_if_done(session: Session, run, plan: Plan, cid: str) -> str | None:
    """End a running composite whose inner nodes have all ended; its status, or None."""
    comp = plan.composites[cid]
    rows = {nid: (status, error) for nid, status, error in session.execute(
        select(NodeRow.node_id, NodeRow.status, NodeRow.error).where(
            NodeRow.run_id == run.id, NodeRow.parent == cid)).all()}
    if any(status not in TERMINAL for status, _ in rows.values()):
        return None
    failed = [f"{nid} ({rows[nid][1] or 'failed'})" for nid in comp.children if rows.get(nid, ("",))[0] == N.FAILED]
    cancelled = any(status == N.CANCELLED for status, _ in rows.values())
    status = N.FAILED if failed else N.CANCELLED if cancelled else N.SUCCEEDED
    error = f"failed inner nodes: {'; '.join(failed)}"[:4000] if failed else (
        "inner nodes were cancelled" if cancelled else None)
    if not transitions.transition(session, run.id, cid, status, expect=N.RUNNING, error=error,
                                  outputs=_outputs(session, run.id, comp), finished_at=utcnow(),
                                  data={"error": error} if error else None):
        return None
    return status


def _outputs(session: Session, run_id: str, comp: Composite) -> dict:
    """The inner graph's outputs, read from the inner nodes that succeeded (None otherwise)."""
    sources = {node for _, node, _ in comp.outputs}
    outs: dict[str, Any] = dict(session.execute(select(NodeRow.node_id, NodeRow.outputs).where(
        NodeRow.run_id == run_id, NodeRow.node_id.in_(sources), NodeRow.status == N.SUCCEEDED)).all()) if sources else {}
    return {name: (outs.get(node) or {}).get(port) for name, node, port in comp.outputs}


def forget_inner(session: Session, run_id: str, plan: Plan, ids: list[str]) -> None:
    """Delete the inner rows (at every depth) of the composites among ``ids``: they start over."""
    again = [nid for nid in ids if nid in plan.composites]
    if again:
        session.execute(delete(NodeRow).where(NodeRow.run_id == run_id, or_(
            *(NodeRow.node_id.startswith(cid + SEP, autoescape=True) for cid in again))))


def reopen(session: Session, run_id: str, cids: list[str]) -> None:
    """Composites an inner retry resumes: running again, their children kept as they are."""
    for cid in cids:
        transitions.transition(session, run_id, cid, N.RUNNING, expect=TERMINAL, error=None, finished_at=None,
                               outputs={}, data={"resumed": True})
