"""Resolve a node's inputs from params, graph inputs, stored secrets and upstream outputs."""
from __future__ import annotations

import re
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.bricks.registry import get_registry
from nebhx.engine.plan import Plan
from nebhx.sealing.crypto import seal
from nebhx.statuses import NodeStatus
from nebhx.store.models import HostRow, NodeRow, SecretRow

CONTROL_QUEUE = "nebhx"


class RunLike(Protocol):
    """What resolving reads of a run: a stored ``RunRow`` or the engine's ``RunHead``."""

    @property
    def id(self) -> str: ...
    @property
    def inputs(self) -> dict[str, Any]: ...
_ITEM = re.compile(r"^(?P<base>.+)\[(?P<index>\d+)\]$")


def split_id(node_id: str) -> tuple[str, int | None]:
    """``web[2]`` -> (``web``, 2): the fan-out instance of node ``web`` for item 2."""
    m = _ITEM.match(node_id)
    return (m["base"], int(m["index"])) if m else (node_id, None)


def item_id(base: str, index: int) -> str:
    return f"{base}[{index}]"


def _scope(session: Session, run: RunLike, plan: Plan, node_id: str) -> tuple[dict[str, Any], list]:
    """Where a node's ``{"$input": name}`` reads: the run's inputs and graph, or, inside a
    composite, the composite node's resolved inputs (kept on its row) and its inner graph."""
    parent = plan.parents.get(node_id)
    if parent is None:
        return run.inputs or {}, plan.graph.inputs
    given = session.scalar(select(NodeRow.inputs).where(NodeRow.run_id == run.id, NodeRow.node_id == parent))
    return given or {}, plan.composites[parent].graph.inputs


def _param(session: Session, scope: tuple[dict[str, Any], list], value: Any) -> Any:
    if isinstance(value, dict) and "$input" in value:
        name, (given, decls) = value["$input"], scope
        if name in given:
            return given[name]
        decl = next((i for i in decls if i.name == name), None)
        if decl is None or decl.type != "Secret" or decl.default is None:
            return decl.default if decl is not None else None
        if isinstance(decl.default, str):
            return seal(decl.default)  # a revision saved before defaults were stored as secrets
        return _param(session, scope, {"$secret": decl.default["$secret"]})
    if isinstance(value, dict) and "$secret" in value:
        row = session.get(SecretRow, value["$secret"])
        if row is None:
            raise LookupError(f"secret {value['$secret']!r} is not stored (nebhx secret set)")
        return {"$enc": row.value}
    return value


def resolve_inputs(session: Session, run: RunLike, plan: Plan, node_id: str) -> dict[str, Any]:
    """The node's raw inputs; secrets stay sealed (``{"$enc": ...}``) until the brick runs.

    For a fan-out instance ``web[i]`` the ``for_each`` input is item ``i`` of its list, and
    an input wired from another fan-out node takes that node's item ``i`` (zip).
    """
    base, index = split_id(node_id)
    node = plan.nodes[base]
    scope = _scope(session, run, plan, base) if any(
        isinstance(v, dict) and "$input" in v for v in node.params.values()) else ({}, [])
    values = {k: _param(session, scope, v) for k, v in node.params.items()}
    values = {k: v for k, v in values.items() if v is not None}
    wires = plan.wires.get(base, [])
    if wires:
        sources = {e.from_.node for e in wires}
        rows = session.execute(select(NodeRow.node_id, NodeRow.outputs, NodeRow.status).where(
            NodeRow.run_id == run.id, NodeRow.node_id.in_(sources)))
        outputs = {nid: (outs or {}) for nid, outs, status in rows if status == NodeStatus.SUCCEEDED}
        for e in wires:
            if e.to.port is None or e.from_.port not in outputs.get(e.from_.node, {}):
                continue  # (a wire always names both ports; an order edge is no wire)
            value = outputs[e.from_.node][e.from_.port]
            zipped = plan.nodes[e.from_.node].for_each and e.to.port != node.for_each
            if index is not None and zipped:
                value = _pick(value, index, f"{e.from_.node}.{e.from_.port}")
            values[e.to.port] = value
    if index is not None and node.for_each:
        values[node.for_each] = _pick(values.get(node.for_each), index, f"input {node.for_each!r}")
    return values


def _pick(value: Any, index: int, what: str) -> Any:
    if not isinstance(value, list) or index >= len(value):
        raise LookupError(f"{what} has no item {index} to run this instance with")
    return value[index]


def route(session: Session, run: RunLike, plan: Plan, node_id: str) -> tuple[str, str | None]:
    """A host brick runs on its host's queue; everything else on the control queue."""
    node = plan.nodes[split_id(node_id)[0]]
    brick = get_registry().get(node.brick)
    if brick is None:
        raise LookupError(f"brick {node.brick!r} is not in this server's palette")
    if not brick.host_input:
        return CONTROL_QUEUE, None
    host = resolve_inputs(session, run, plan, node_id).get(brick.host_input)
    if not host or not isinstance(host, str):
        raise LookupError(f"input {brick.host_input!r} names no host")
    if session.get(HostRow, host) is None:
        raise LookupError(f"unknown host {host!r}: no agent has registered it (nebhx agent --host {host})")
    return f"host.{host}", host


def graph_outputs(session: Session, run: RunLike, plan: Plan) -> dict[str, Any]:
    if not plan.graph.outputs:
        return {}
    rows = session.execute(select(NodeRow.node_id, NodeRow.outputs).where(
        NodeRow.run_id == run.id, NodeRow.node_id.in_({o.from_.node for o in plan.graph.outputs})))
    outs: dict[str, Any] = dict(rows.all())
    return {o.name: (outs.get(o.from_.node) or {}).get(o.from_.port) for o in plan.graph.outputs}
