"""Runs: create, read, cancel, retry a node, approve or reject a waiting node."""
from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.engine import control, retention, scheduler
from nebhx.engine.dispatch import Dispatch
from nebhx.engine.loading import plan_for
from nebhx.graph_model import Graph
from nebhx.errors import BadInputs as BadInputs
from nebhx.errors import Conflict as Conflict
from nebhx.errors import Forbidden, NotFound
from nebhx.graphs.schemas import GcResult
from nebhx.graphs.service import ensure_graph, find_graph_by_name, get_revision
from nebhx.auth.tokens import Principal
from nebhx.runs import approvals
from nebhx.runs.schemas import NodeChild, NodeItem, NodeRead, RunRead, RunSummary
from nebhx.sealing.crypto import mask_tree, seal
from nebhx.sealing.masking import normalise_secret
from nebhx.statuses import NodeStatus
from nebhx.store.models import GraphRow, NodeRow, RunRow


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
        if decl.type == "Secret":
            try:  # as a stored secret is, whichever door it came through
                value = seal(normalise_secret(str(value)))
            except ValueError as exc:
                problems.append({"input": name, "message": f"input {name!r} (Secret): {exc}"})
                continue
        out[name] = value
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


def start_run(session: Session, *, who: Principal, graph_id: str | None = None, revision: int | None = None,
              graph: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None) -> RunRead:
    """``who`` starts a run of a stored revision, or of a document (stored by name first, which
    needs admin unless it is identical to the graph's latest revision); the run as started."""
    role = role_to_start(session, graph_id=graph_id, graph=graph)
    if not who.may(role):
        raise Forbidden(f"{who.name} is {who.role}; storing a new or changed graph (run it by graph_id, "
                        f"or the file as stored) needs {role}")
    if graph is not None:
        graph_id, revision = ensure_graph(session, doc=graph)
    if graph_id is None:
        raise BadInputs([{"input": "graph_id", "message": "give graph_id or graph"}])
    run_id, _ = create_run(session, graph_id=graph_id, revision=revision, inputs=inputs, started_by=who.name)
    return get_run(session, run_id=run_id)


def create_run(session: Session, *, graph_id: str, revision: int | None = None,
               inputs: dict[str, Any] | None = None, started_by: str | None = None) -> tuple[str, list[Dispatch]]:
    row = session.get(GraphRow, graph_id)
    if row is None:
        raise NotFound(f"no graph {graph_id!r}")
    revision = revision or row.latest_revision
    doc = get_revision(session, graph_id=graph_id, number=revision)
    graph = Graph.model_validate(doc)
    run = RunRow(id=uuid.uuid4().hex[:12], graph_id=graph_id, revision=revision,
                 inputs=check_inputs(graph, inputs or {}), started_by=started_by)
    plan = plan_for(session, graph_id, revision)
    return run.id, scheduler.start_run(session, run, plan)


def _node(n: NodeRow, model: type[NodeRead] = NodeRead, **more: Any) -> Any:
    """A node as ``model`` from its row (secrets masked), with ``more`` of its fields."""
    duration = None
    if n.started_at and n.finished_at:
        duration = round((n.finished_at - n.started_at).total_seconds(), 3)
    return model(status=n.status, attempt=n.attempt, brick=n.brick, host=n.host,
                 inputs=mask_tree(n.inputs or {}), outputs=mask_tree(n.outputs or {}),
                 error=n.error, wait=n.wait or None, started_at=n.started_at,
                 finished_at=n.finished_at, duration_s=duration, **more)


def _summary(run: RunRow, graph_name: str | None, model: type[RunSummary] = RunSummary, **more: Any) -> Any:
    return model(id=run.id, graph_id=run.graph_id, graph_name=graph_name, revision=run.revision,
                 status=run.status, error=run.error, created_at=run.created_at,
                 started_at=run.started_at, finished_at=run.finished_at, trigger=run.trigger, **more)


def get_run(session: Session, *, run_id: str) -> RunRead:
    """The run as stored now: also after a change in this transaction (a route's), whose
    statements may have updated rows this session already holds, so they are read again."""
    session.flush()
    run = session.get(RunRow, run_id, populate_existing=True)
    if run is None:
        raise NotFound(f"no run {run_id!r}")
    rows = session.execute(select(NodeRow).where(NodeRow.run_id == run_id).order_by(NodeRow.item_index)
                           .execution_options(populate_existing=True)).scalars().all()
    nodes = _nested(list(rows), plan_for(session, run.graph_id, run.revision))
    graph = session.get(GraphRow, run.graph_id)
    return _summary(run, graph.name if graph else None, RunRead, inputs=mask_tree(run.inputs or {}),
                    outputs=mask_tree(run.outputs or {}), nodes=nodes)


def _nested(rows: list[NodeRow], plan) -> dict[str, NodeRead]:
    """Top-level nodes by id, in dependency order (``Plan.order``); a fan-out's instances under
    its ``items``, a composite's inner nodes (in the inner graph's order) under its ``children``,
    each with its own. A node with neither leaves the field unset, so the answer (exclude_unset)
    has no such key."""
    known = {n.node_id for n in rows}
    order = {nid: i for comp in plan.composites.values() for i, nid in enumerate(comp.children)}
    items: dict[str, list[NodeRow]] = defaultdict(list)
    children: dict[str, list[NodeRow]] = defaultdict(list)
    for n in sorted(rows, key=lambda r: (r.item_index is None, r.item_index or 0, order.get(r.node_id, 0))):
        if n.parent is not None and n.parent in known:
            (items if n.item_index is not None else children)[n.parent].append(n)

    def build(n: NodeRow, model: type[NodeRead], **own: Any) -> Any:
        if n.node_id in items:
            own["items"] = [build(i, NodeItem, id=i.node_id, item=mask_tree(i.item)) for i in items[n.node_id]]
        if n.node_id in children:
            own["children"] = [build(c, NodeChild, id=c.node_id) for c in children[n.node_id]]
        return _node(n, model, **own)
    top = sorted((n for n in rows if n.parent is None), key=lambda n: plan.order.get(n.node_id, len(plan.order)))
    return {n.node_id: build(n, NodeRead) for n in top}


def list_runs(session: Session, *, graph_id: str | None = None, limit: int = 100) -> list[RunSummary]:
    stmt = select(RunRow, GraphRow.name).join(GraphRow, GraphRow.id == RunRow.graph_id)
    if graph_id:
        stmt = stmt.where(RunRow.graph_id == graph_id)
    rows = session.execute(stmt.order_by(RunRow.created_at.desc()).limit(limit)).all()
    return [_summary(run, name) for run, name in rows]


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


def cancel_run(session: Session, *, run_id: str, by: str) -> list[Dispatch]:
    run, plan = _run_and_plan(session, run_id)
    with _refused_as_conflict():
        return control.cancel_run(session, run, plan, by=by)


def retry_node(session: Session, *, run_id: str, node_id: str, by: str) -> list[Dispatch]:
    run, plan = _run_and_plan(session, run_id)
    row = session.get(NodeRow, (run_id, node_id))
    if row is None or node_id not in plan.nodes:
        raise NotFound(f"run {run_id!r} has no node {node_id!r}")
    with _refused_as_conflict():
        return control.retry_node(session, run, plan, row, by=by)


def decide(session: Session, *, run_id: str, node_id: str, approve: bool, by: str,
           comment: str = "", role: str | None = "admin", kind: str = "user") -> list[Dispatch]:
    """Approve or reject a waiting node within its gate's policy (runs.approvals); a rejection
    fails it so trigger rules can branch; an approval short of the gate's count is kept."""
    run, plan = _run_and_plan(session, run_id)
    row = session.get(NodeRow, (run_id, node_id), with_for_update=True)
    if row is None:
        raise NotFound(f"run {run_id!r} has no node {node_id!r}")
    with _refused_as_conflict():
        if row.status != NodeStatus.WAITING:
            raise control.Refused(f"node {node_id} is {row.status}, not waiting for approval")
        approvals.check_decider(row, run, by=by, role=role, kind=kind, approve=approve)
        if approve and (needed := approvals.still_needed(row)):
            control.count_approval(session, run, row, by=by, comment=comment, needed=needed)
            return []
        return control.decide(session, run, plan, row, approve=approve, by=by, comment=comment)


@contextmanager
def _refused_as_conflict() -> Iterator[None]:
    try:
        yield
    except control.Refused as exc:
        raise Conflict(str(exc)) from exc


def collect_runs(session: Session, *, graph_id: str | None = None, dry_run: bool = False) -> GcResult:
    """Delete (``dry_run``: only list) the runs retention no longer keeps; a running run is kept."""
    return GcResult.model_validate(retention.collect(session, graph_id=graph_id, dry_run=dry_run))
