"""What an operator does to a run, as the engine does it: cancel it, retry a node, decide on
a waiting node. ``runs.service`` finds the run and checks the request; every change of status
here goes through ``transitions``. ``Refused`` says the request does not fit the run's state."""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nebhx.engine import scheduler, transitions
from nebhx.engine.composite import ancestors, forget_inner, reopen, settle
from nebhx.engine.dispatch import Dispatch
from nebhx.engine.plan import ACTIVE, Plan
from nebhx.statuses import EventStatus, NodeStatus, RunStatus, TriggerRule
from nebhx.store.models import NodeRow, RunRow, iso, utcnow

N = NodeStatus


class Refused(Exception):
    """The request does not fit the current state (retry a node that did not fail...)."""


def cancel_run(session: Session, run: RunRow, plan: Plan, *, by: str) -> list[Dispatch]:
    """Cancel a running run: its open nodes are cancelled, its ``always`` nodes still run."""
    if run.status != RunStatus.RUNNING:
        raise Refused(f"run {run.id} is {run.status}, not running")
    transitions.run_to(session, run, RunStatus.CANCELLED, event=EventStatus.CANCELLING, data={"by": by})
    keep = set(_always(session, run.id, plan))
    open_ = session.scalars(select(NodeRow.node_id).where(
        NodeRow.run_id == run.id, NodeRow.status.in_([N.PENDING, *ACTIVE]))).all()
    transitions.transition_many(session, run.id, [n for n in open_ if n not in keep], N.CANCELLED,
                                expect=[N.PENDING, *ACTIVE], finished_at=utcnow(), error=f"cancelled by {by}")
    session.flush()
    out = scheduler.advance(session, run, plan, sorted(keep))
    for cid in sorted((k for k in keep if k in plan.composites), key=lambda c: -len(ancestors(plan, c))):
        out += settle(session, run, plan, cid, scheduler.after_node)  # an "always" composite whose inner nodes all ended
    return out


def _always(session: Session, run_id: str, plan: Plan) -> list[str]:
    """Nodes a cancel leaves to run: ``always`` ones (inside a composite, only when the composite
    is ``always`` too) that have a row (an inner node has one once its composite started)."""
    ids = [nid for nid, n in plan.nodes.items() if n.trigger == TriggerRule.ALWAYS
           and all(plan.nodes[a].trigger == TriggerRule.ALWAYS for a in ancestors(plan, nid))]
    if not any(nid in plan.parents for nid in ids):
        return ids
    return list(session.scalars(select(NodeRow.node_id).where(NodeRow.run_id == run_id, NodeRow.node_id.in_(ids))))


def retry_node(session: Session, run: RunRow, plan: Plan, row: NodeRow, *, by: str) -> list[Dispatch]:
    """Run a failed or cancelled node again, and what follows it (what succeeded stays)."""
    node_id = row.node_id
    if row.status not in (N.FAILED, N.CANCELLED):
        raise Refused(f"node {node_id} is {row.status}; only a failed or cancelled node can be retried")
    # An inner node of a composite: the composites around it resume (their other inner nodes
    # stay as they are), and what follows each of them runs again as after any retry.
    outer = ancestors(plan, node_id)
    again = [node_id] + [d for n in [node_id, *outer] for d in plan.descendants(n)]
    kept = list(session.scalars(select(NodeRow.node_id).where(
        NodeRow.run_id == run.id, NodeRow.node_id.in_(again), NodeRow.status == N.SUCCEEDED)))
    # A fan-out node starts over from its list, a composite from its inner graph: their rows go.
    session.execute(delete(NodeRow).where(NodeRow.run_id == run.id, NodeRow.parent.in_(again),
                                          NodeRow.parent.not_in(kept)))
    forget_inner(session, run.id, plan, [n for n in again if n not in kept])
    ended = [N.FAILED, N.SKIPPED, N.CANCELLED]
    transitions.transition_many(session, run.id, [n for n in again if n != node_id], N.PENDING, expect=ended,
                                failures=0, error=None, finished_at=None, outputs={})
    transitions.transition(session, run.id, node_id, N.PENDING, expect=ended, failures=0, error=None,
                           finished_at=None, outputs={}, data={"retried_by": by})
    reopen(session, run.id, outer)
    if run.status != RunStatus.RUNNING:
        transitions.run_to(session, run, RunStatus.RUNNING, data={"retried": node_id}, finished_at=None, error=None)
    session.flush()
    out = scheduler.advance(session, run, plan, again)
    return out + (settle(session, run, plan, outer[0], scheduler.after_node) if outer else [])


def count_approval(session: Session, run: RunRow, row: NodeRow, *, by: str, comment: str, needed: int) -> None:
    """One approval of a gate that needs more: kept in its ``wait``, the node stays waiting."""
    if row.status != N.WAITING:
        raise Refused(f"node {row.node_id} is {row.status}, not waiting for approval")
    approvals = [*(row.wait or {}).get("approvals", []), {"by": by, "at": iso(utcnow()), "comment": comment}]
    if not scheduler.note(session, run.id, row.node_id, N.WAITING, attempt=row.attempt,
                          wait={**(row.wait or {}), "approvals": approvals}):
        raise Refused(f"node {row.node_id} changed while deciding; try again")
    transitions.step(session, run.id, row.node_id, EventStatus.WAITING, approved_by=by, comment=comment,
                     approvals=len(approvals), still_needed=needed)


def decide(session: Session, run: RunRow, plan: Plan, row: NodeRow, *, approve: bool, by: str,
           comment: str = "") -> list[Dispatch]:
    """Approve or reject a waiting node; a rejection fails it so trigger rules can branch.
    An approval that completes a gate's count lists every approver in its decision."""
    if row.status != N.WAITING:
        raise Refused(f"node {row.node_id} is {row.status}, not waiting for approval")
    at = utcnow()
    decision = {"approved": approve, "by": by, "at": iso(at), "comment": comment}
    if approve and (row.wait or {}).get("approvals"):
        decision["approvals"] = [*row.wait["approvals"], {"by": by, "at": iso(at), "comment": comment}]
    to, error = (N.SUCCEEDED, None) if approve else (N.FAILED, f"rejected by {by}" + (f": {comment}" if comment else ""))
    if not transitions.transition(session, run.id, row.node_id, to, expect=N.WAITING, finished_at=at, error=error,
                                  outputs=decision, wait={**(row.wait or {}), "decision": decision},
                                  data={"by": by, "comment": comment}):
        raise Refused(f"node {row.node_id} changed while deciding; try again")
    session.flush()
    return scheduler.after_node(session, run, plan, row.node_id)
