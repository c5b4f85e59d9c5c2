"""Resolve a node's inputs from params, graph inputs, stored secrets and upstream outputs."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.bricks.registry import get_registry
from nebhx.engine.plan import Plan
from nebhx.store.models import NodeRow, RunRow, SecretRow

CONTROL_QUEUE = "nebhx"


def _param(session: Session, run: RunRow, plan: Plan, value: Any) -> Any:
    if isinstance(value, dict) and "$input" in value:
        name = value["$input"]
        if name in (run.inputs or {}):
            return run.inputs[name]
        decl = next((i for i in plan.graph.inputs if i.name == name), None)
        return decl.default if decl is not None else None
    if isinstance(value, dict) and "$secret" in value:
        row = session.get(SecretRow, value["$secret"])
        if row is None:
            raise LookupError(f"secret {value['$secret']!r} is not stored (nebhx secret set)")
        return {"$enc": row.value}
    return value


def resolve_inputs(session: Session, run: RunRow, plan: Plan, node_id: str) -> dict[str, Any]:
    """The node's raw inputs; secrets stay sealed (``{"$enc": ...}``) until the brick runs."""
    node = plan.nodes[node_id]
    values = {k: _param(session, run, plan, v) for k, v in node.params.items()}
    values = {k: v for k, v in values.items() if v is not None}
    wires = plan.wires.get(node_id, [])
    if wires:
        sources = {e.from_.node for e in wires}
        rows = session.execute(select(NodeRow.node_id, NodeRow.outputs, NodeRow.status).where(
            NodeRow.run_id == run.id, NodeRow.node_id.in_(sources)))
        outputs = {nid: (outs or {}) for nid, outs, status in rows.tuples() if status == "succeeded"}
        for e in wires:
            if e.from_.port in outputs.get(e.from_.node, {}):
                values[e.to.port] = outputs[e.from_.node][e.from_.port]
    return values


def queue_for(session: Session, run: RunRow, plan: Plan, node_id: str) -> tuple[str, str | None]:
    """A host brick runs on its host's queue; everything else on the control queue."""
    node = plan.nodes[node_id]
    brick = get_registry().get(node.brick)
    if brick is None:
        raise LookupError(f"brick {node.brick!r} is not in this server's palette")
    if not brick.host_input:
        return CONTROL_QUEUE, None
    host = resolve_inputs(session, run, plan, node_id).get(brick.host_input)
    if not host or not isinstance(host, str):
        raise LookupError(f"input {brick.host_input!r} names no host")
    return f"host.{host}", host


def graph_outputs(session: Session, run: RunRow, plan: Plan) -> dict[str, Any]:
    if not plan.graph.outputs:
        return {}
    rows = session.execute(select(NodeRow.node_id, NodeRow.outputs).where(
        NodeRow.run_id == run.id, NodeRow.node_id.in_({o.from_.node for o in plan.graph.outputs})))
    outs = dict(rows.tuples().all())
    return {o.name: (outs.get(o.from_.node) or {}).get(o.from_.port) for o in plan.graph.outputs}
