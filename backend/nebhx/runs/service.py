"""Runs: create, read, cancel, retry a node, approve or reject a waiting node."""
from __future__ import annotations

import json
import uuid
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from nebhx.engine import scheduler
from nebhx.engine.composite import ancestors, forget_inner, reopen, settle
from nebhx.engine.events import emit
from nebhx.engine.plan import ACTIVE, TERMINAL, plan_for
from nebhx.graphs.models import Graph
from nebhx.graphs.service import NotFound, find_graph_by_name, get_revision
from nebhx.secrets.crypto import mask_tree, seal
from nebhx.store.models import GraphRow, NodeRow, RunRow, iso, utcnow


class Conflict(Exception):
    """The request does not fit the current state (retry a node that did not fail...)."""


class BadInputs(ValueError):
    def __init__(self, problems: list[dict[str, Any]]):
        super().__init__("; ".join(p["message"] for p in problems))
        self.problems = problems


_PY = {"string": str, "Url": str, "VolumeUrl": str, "Address": str, "HostRef": str, "Secret": str,
       "integer": int, "number": float, "boolean": bool, "object": dict, "any": Any}


def _adapter(port_type: str) -> TypeAdapter:
    if port_type.endswith("[]"):
        inner = _PY.get(port_type[:-2], Any)
        return TypeAdapter(list[inner])  # type: ignore[valid-type]
    return TypeAdapter(_PY.get(port_type, Any))


def check_inputs(graph: Graph, given: dict[str, Any]) -> dict[str, Any]:
    """Coerce run inputs to their declared types (CLI values arrive as text); seal secrets."""
    problems, out = [], {}
    declared = {i.name: i for i in graph.inputs}
    for name in given:
        if name not in declared:
            problems.append({"input": name, "message": f"graph {graph.name!r} declares no input {name!r}"})
    for name, decl in declared.items():
        if name not in given:
            if decl.required and decl.default is None:
                problems.append({"input": name, "message": f"input {name!r} ({decl.type}) is required"})
            continue
        value = given[name]
        if isinstance(value, str) and (decl.type.endswith("[]") or decl.type in ("object", "any")):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        try:
            value = _adapter(decl.type).validate_python(value)
        except ValidationError as exc:
            problems.append({"input": name, "message": f"input {name!r} ({decl.type}): "
                             f"{exc.errors()[0]['msg']}"})
            continue
        out[name] = seal(str(value)) if decl.type == "Secret" else value
    if problems:
        raise BadInputs(problems)
    return out


def role_to_start(session: Session, *, graph_id: str | None, graph: Any = None) -> str:
    """The role a run needs: an operator runs what is stored, by id or as the identical document;
    a document that is new or changed would be stored as a revision first, which needs admin."""
    if graph is None:
        return "operator"
    row = find_graph_by_name(session, name=graph.get("name", "")) if isinstance(graph, dict) else None
    if row is not None and get_revision(session, graph_id=row.id) == graph:
        return "operator"
    return "admin"


def create_run(session: Session, *, graph_id: str, revision: int | None = None,
               inputs: dict[str, Any] | None = None) -> tuple[str, list[scheduler.Dispatch]]:
    row = session.get(GraphRow, graph_id)
    if row is None:
        raise NotFound(f"no graph {graph_id!r}")
    revision = revision or row.latest_revision
    doc = get_revision(session, graph_id=graph_id, number=revision)
    graph = Graph.model_validate(doc)
    run = RunRow(id=uuid.uuid4().hex[:12], graph_id=graph_id, revision=revision, status="running",
                 inputs=check_inputs(graph, inputs or {}))
    session.add(run)
    session.flush()
    plan = plan_for(session, graph_id, revision)
    return run.id, scheduler.start_run(session, run, plan)


def _node_view(n: NodeRow) -> dict[str, Any]:
    duration = None
    if n.started_at and n.finished_at:
        duration = round((n.finished_at - n.started_at).total_seconds(), 3)
    return {"status": n.status, "attempt": n.attempt, "brick": n.brick, "host": n.host,
            "inputs": mask_tree(n.inputs or {}), "outputs": mask_tree(n.outputs or {}),
            "error": n.error, "wait": n.wait or None, "started_at": iso(n.started_at),
            "finished_at": iso(n.finished_at), "duration_s": duration}


def summary(run: RunRow, graph_name: str | None = None) -> dict[str, Any]:
    return {"id": run.id, "graph_id": run.graph_id, "graph_name": graph_name, "revision": run.revision,
            "status": run.status, "error": run.error, "created_at": iso(run.created_at),
            "started_at": iso(run.started_at), "finished_at": iso(run.finished_at),
            "trigger": run.trigger}


def get_run(session: Session, *, run_id: str) -> dict[str, Any]:
    run = session.get(RunRow, run_id)
    if run is None:
        raise NotFound(f"no run {run_id!r}")
    rows = session.execute(select(NodeRow).where(NodeRow.run_id == run_id)
                           .order_by(NodeRow.item_index)).scalars().all()
    nodes = _nested(rows, plan_for(session, run.graph_id, run.revision))
    graph = session.get(GraphRow, run.graph_id)
    return {**summary(run, graph.name if graph else None), "inputs": mask_tree(run.inputs or {}),
            "outputs": mask_tree(run.outputs or {}), "nodes": nodes}


def _nested(rows: list[NodeRow], plan) -> dict[str, Any]:
    """Top-level nodes by id; a fan-out's instances under its ``items``, a composite's inner
    nodes (in the inner graph's order) under its ``children``, each with its own."""
    views = {n.node_id: {"id": n.node_id, **_node_view(n)} for n in rows}
    order = {nid: i for comp in plan.composites.values() for i, nid in enumerate(comp.children)}
    for n in sorted(rows, key=lambda r: (r.item_index is None, r.item_index or 0, order.get(r.node_id, 0))):
        if n.parent is not None and n.parent in views:
            if n.item_index is not None:
                views[n.parent].setdefault("items", []).append({**views[n.node_id], "item": mask_tree(n.item)})
            else:
                views[n.parent].setdefault("children", []).append(views[n.node_id])
    return {n.node_id: {k: v for k, v in views[n.node_id].items() if k != "id"} for n in rows if n.parent is None}


def list_runs(session: Session, *, graph_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    stmt = select(RunRow, GraphRow.name).join(GraphRow, GraphRow.id == RunRow.graph_id)
    if graph_id:
        stmt = stmt.where(RunRow.graph_id == graph_id)
    rows = session.execute(stmt.order_by(RunRow.created_at.desc()).limit(limit)).all()
    return [summary(run, name) for run, name in rows]


def node_log(session: Session, *, run_id: str, node_id: str) -> str:
    row = session.get(NodeRow, (run_id, node_id))
    if row is None:
        raise NotFound(f"run {run_id!r} has no node {node_id!r}")
    return row.log or ""


def _run_and_plan(session: Session, run_id: str):
    run = session.get(RunRow, run_id, with_for_update=True)
    if run is None:
        raise NotFound(f"no run {run_id!r}")
    return run, plan_for(session, run.graph_id, run.revision)


def cancel_run(session: Session, *, run_id: str, by: str) -> list[scheduler.Dispatch]:
    run, plan = _run_and_plan(session, run_id)
    if run.status != "running":
        raise Conflict(f"run {run_id} is {run.status}, not running")
    run.status = "cancelled"
    keep = _always(session, run_id, plan)
    session.execute(update(NodeRow).where(
        NodeRow.run_id == run_id, NodeRow.status.in_(["pending", *ACTIVE]), NodeRow.node_id.not_in(keep)
    ).values(status="cancelled", finished_at=utcnow(), error=f"cancelled by {by}"))
    emit(session, run_id, None, "run", "cancelling", by=by)
    session.flush()
    statuses = scheduler.statuses_of(session, run_id)
    for nid, status in statuses.items():
        if status == "cancelled":
            emit(session, run_id, nid, "node", "cancelled")
    out = scheduler.advance(session, run, plan, keep)
    for cid in sorted((k for k in keep if k in plan.composites), key=lambda c: -len(ancestors(plan, c))):
        out += settle(session, run, plan, cid)  # an "always" composite whose inner nodes all ended
    return out


def _always(session: Session, run_id: str, plan) -> list[str]:
    """Nodes a cancel leaves to run: ``always`` ones (inside a composite, only when the composite
    is ``always`` too) that have a row (an inner node has one once its composite started)."""
    ids = [nid for nid, n in plan.nodes.items() if n.trigger == "always"
           and all(plan.nodes[a].trigger == "always" for a in ancestors(plan, nid))]
    if not any(nid in plan.parents for nid in ids):
        return ids
    return list(session.scalars(select(NodeRow.node_id).where(NodeRow.run_id == run_id, NodeRow.node_id.in_(ids))))


def retry_node(session: Session, *, run_id: str, node_id: str, by: str) -> list[scheduler.Dispatch]:
    run, plan = _run_and_plan(session, run_id)
    row = session.get(NodeRow, (run_id, node_id))
    if row is None or node_id not in plan.nodes:
        raise NotFound(f"run {run_id!r} has no node {node_id!r}")
    if row.status not in ("failed", "cancelled"):
        raise Conflict(f"node {node_id} is {row.status}; only a failed or cancelled node can be retried")
    # An inner node of a composite: the composites around it resume (their other inner nodes
    # stay as they are), and what follows each of them runs again as after any retry.
    outer = ancestors(plan, node_id)
    again = [node_id] + [d for n in [node_id, *outer] for d in plan.descendants(n)]
    kept = _kept(session, run_id, again)
    # A fan-out node starts over from its list, a composite from its inner graph: their rows go.
    session.execute(delete(NodeRow).where(NodeRow.run_id == run_id, NodeRow.parent.in_(again),
                                          NodeRow.parent.not_in(kept)))
    forget_inner(session, run_id, plan, [n for n in again if n not in kept])
    session.execute(update(NodeRow).where(
        NodeRow.run_id == run_id, NodeRow.node_id.in_(again), NodeRow.status.in_(list(TERMINAL - {"succeeded"}))
    ).values(status="pending", failures=0, error=None, finished_at=None, outputs={}))
    reopen(session, run_id, outer)
    run.status, run.finished_at, run.error = "running", None, None
    emit(session, run_id, node_id, "node", "pending", retried_by=by)
    emit(session, run_id, None, "run", "running", retried=node_id)
    session.flush()
    out = scheduler.advance(session, run, plan, again)
    return out + (settle(session, run, plan, outer[0]) if outer else [])


def _kept(session: Session, run_id: str, ids: list[str]) -> list[str]:
    """Nodes among ``ids`` that stay as they are on a retry (they succeeded)."""
    return list(session.scalars(select(NodeRow.node_id).where(
        NodeRow.run_id == run_id, NodeRow.node_id.in_(ids), NodeRow.status == "succeeded")))


def decide(session: Session, *, run_id: str, node_id: str, approve: bool, by: str,
           comment: str = "") -> list[scheduler.Dispatch]:
    """Approve or reject a waiting node; a rejection fails it so trigger rules can branch."""
    run, plan = _run_and_plan(session, run_id)
    row = session.get(NodeRow, (run_id, node_id))
    if row is None:
        raise NotFound(f"run {run_id!r} has no node {node_id!r}")
    if row.status != "waiting":
        raise Conflict(f"node {node_id} is {row.status}, not waiting for approval")
    at = utcnow()
    decision = {"approved": approve, "by": by, "at": iso(at), "comment": comment}
    values = dict(status="succeeded", outputs=decision) if approve else dict(
        status="failed", error=f"rejected by {by}" + (f": {comment}" if comment else ""), outputs=decision)
    if not scheduler.cas(session, run_id, node_id, "waiting", finished_at=at,
                         wait={**(row.wait or {}), "decision": decision}, **values):
        raise Conflict(f"node {node_id} changed while deciding; try again")
    emit(session, run_id, node_id, "node", values["status"], by=by, comment=comment)
    session.flush()
    return scheduler.after_node(session, run, plan, node_id)

