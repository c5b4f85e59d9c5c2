"""Fan-out (``for_each``): one instance of a node per item of a list, gathered as lists.

The parent row stays ``running`` while its instances (``web[0]``, ``web[1]``...) run as
ordinary nodes, each with its own status, log, retries and queue (so a fan-out over
hosts runs each item on its host). When the last instance ends, the parent ends with
every output port as a list in item order (None for an item that failed).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.bricks.registry import get_registry
from nebhx.engine import scheduler
from nebhx.engine.events import emit
from nebhx.engine.plan import TERMINAL, Plan
from nebhx.engine.resolve import item_id, resolve_inputs
from nebhx.store.models import NodeRow, utcnow


def expand(session: Session, run, plan: Plan, nid: str) -> str | None:
    """Start a ``for_each`` node; returns its new status (None when another process did)."""
    node = plan.nodes[nid]
    try:
        items = resolve_inputs(session, run, plan, nid).get(node.for_each)
    except LookupError as exc:
        return "failed" if scheduler.fail_now(session, run, nid, str(exc)) else None
    if not isinstance(items, list):
        return "failed" if scheduler.fail_now(session, run, nid, f"for_each input {node.for_each!r} "
                                              f"must be a list, got {type(items).__name__}") else None
    if not scheduler.cas(session, run.id, nid, "pending", status="running", started_at=utcnow(),
                         finished_at=None, error=None):
        return None
    emit(session, run.id, nid, "node", "running", items=len(items))
    if not items:
        return gather(session, run, plan, nid)
    for i, item in enumerate(items):
        session.add(NodeRow(run_id=run.id, node_id=item_id(nid, i), brick=node.brick, status="pending",
                            parent=nid, item_index=i, item=item))
    session.flush()
    if not scheduler.queue_nodes(session, run, plan, [item_id(nid, i) for i in range(len(items))]):
        return gather(session, run, plan, nid) or "running"  # no host could take any item
    return "running"


def gather(session: Session, run, plan: Plan, parent: str) -> str | None:
    """End ``parent`` once all its instances have ended; returns its status, or None."""
    rows = session.execute(select(NodeRow.node_id, NodeRow.status, NodeRow.outputs, NodeRow.error)
                           .where(NodeRow.run_id == run.id, NodeRow.parent == parent)
                           .order_by(NodeRow.item_index)).all()
    if any(status not in TERMINAL for _, status, _, _ in rows):
        return None
    spec = get_registry().specs.get(plan.nodes[parent].brick, {"outputs": []})
    outputs = {p["name"]: [(outs or {}).get(p["name"]) if status == "succeeded" else None
                           for _, status, outs, _ in rows] for p in spec["outputs"]}
    failed = [(nid, err or status) for nid, status, _, err in rows if status != "succeeded"]
    status = "succeeded" if not failed else "failed"
    error = None if not failed else (f"{len(failed)} of {len(rows)} items did not succeed: " +
                                     "; ".join(f"{nid}: {err}" for nid, err in failed[:3]))
    if not scheduler.cas(session, run.id, parent, "running", status=status, outputs=outputs,
                         error=error, finished_at=utcnow()):
        return None
    emit(session, run.id, parent, "node", status, **({"error": error} if error else {}))
    return status
