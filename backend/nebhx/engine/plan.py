"""A run's plan: the revision's graph as predecessor/successor maps, cached per revision."""
from __future__ import annotations

from collections import defaultdict
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from nebhx.graphs.models import Edge, Graph, Node
from nebhx.statuses import ACTIVE, TERMINAL, NodeStatus, TriggerRule

__all__ = ["ACTIVE", "READY", "SKIP", "TERMINAL", "WAIT", "Plan", "Readiness", "plan_for", "trigger_state"]


class Readiness(StrEnum):
    """What a node's trigger rule says, given its upstream nodes' statuses."""

    READY = "ready"
    SKIP = "skip"
    WAIT = "wait"


READY, SKIP, WAIT = Readiness.READY, Readiness.SKIP, Readiness.WAIT


@dataclass
class Plan:
    graph: Graph
    nodes: dict[str, Node]
    preds: dict[str, list[str]] = field(default_factory=dict)
    succs: dict[str, list[str]] = field(default_factory=dict)
    wires: dict[str, list[Edge]] = field(default_factory=dict)
    # Composite nodes (engine.composite): each one's inner graph, and each inner node's composite.
    composites: dict[str, Any] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, graph: Graph) -> Plan:
        preds: dict[str, list[str]] = defaultdict(list)
        succs: dict[str, list[str]] = defaultdict(list)
        wires: dict[str, list[Edge]] = defaultdict(list)
        for e in graph.edges:
            if e.from_.node not in preds[e.to.node]:
                preds[e.to.node].append(e.from_.node)
                succs[e.from_.node].append(e.to.node)
            if e.is_data:
                wires[e.to.node].append(e)
        return cls(graph, {n.id: n for n in graph.nodes}, dict(preds), dict(succs), dict(wires))

    def descendants(self, node_id: str) -> list[str]:
        seen: list[str] = []
        stack = list(self.succs.get(node_id, []))
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.append(n)
                stack.extend(self.succs.get(n, []))
        return seen


_plans: OrderedDict[tuple[str, str, int], Plan] = OrderedDict()


def plan_for(session: Session, graph_id: str, revision: int) -> Plan:
    """Revisions never change, so a plan is built once per process (LRU of 256); composites are
    pinned revisions, so their inner nodes are part of it."""
    from nebhx.store.models import RevisionRow
    key = (str(session.get_bind().engine.url), graph_id, revision)
    plan = _plans.get(key)
    if plan is None:
        row = session.get(RevisionRow, (graph_id, revision))
        if row is None:
            raise LookupError(f"graph {graph_id} has no revision {revision}")
        from nebhx.engine.composite import inline_all
        plan = _plans[key] = inline_all(Plan.of(Graph.model_validate(row.doc)), session)
        if len(_plans) > 256:
            _plans.popitem(last=False)
    _plans.move_to_end(key)
    return plan


def trigger_state(rule: TriggerRule | str, statuses: list[NodeStatus] | list[str]) -> Readiness:
    """Whether a node whose upstream nodes have ``statuses`` may start, must be skipped, or waits."""
    if not statuses:
        return READY
    done = all(s in TERMINAL for s in statuses)
    if rule == TriggerRule.ALL_SUCCESS:
        if any(s in (NodeStatus.FAILED, NodeStatus.SKIPPED, NodeStatus.CANCELLED) for s in statuses):
            return SKIP
        return READY if done else WAIT
    if rule in (TriggerRule.ALL_DONE, TriggerRule.ALWAYS):
        return READY if done else WAIT
    if rule == TriggerRule.ANY_FAILED:
        if NodeStatus.FAILED in statuses:
            return READY
        return SKIP if done else WAIT
    if rule == TriggerRule.ALL_FAILED:
        if any(s in (NodeStatus.SUCCEEDED, NodeStatus.SKIPPED, NodeStatus.CANCELLED) for s in statuses):
            return SKIP
        return READY if done else WAIT
    raise ValueError(f"unknown trigger rule {rule!r}")
