"""A run's plan: the revision's graph as predecessor/successor maps (loaded and cached per
revision by nebhx.engine.loading)."""
from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any


from nebhx.graph_model import Edge, Graph, Node
from nebhx.statuses import ACTIVE, TERMINAL, NodeStatus, TriggerRule

__all__ = ["ACTIVE", "READY", "SKIP", "TERMINAL", "WAIT", "Plan", "Readiness", "trigger_state"]


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

    @cached_property
    def order(self) -> dict[str, int]:
        """Each node's place in dependency order, upstream first, the document's order among
        nodes free at the same step: the order a run's view lists its nodes (and a rollout grid
        its phases) in, whatever order the rows come from the store in."""
        index = {nid: i for i, nid in enumerate(self.nodes)}
        ids = list(index)
        waiting = {nid: sum(p in index for p in self.preds.get(nid, [])) for nid in ids}
        ready = [index[nid] for nid in ids if not waiting[nid]]
        heapq.heapify(ready)
        out: dict[str, int] = {}
        while ready:
            nid = ids[heapq.heappop(ready)]
            out[nid] = len(out)
            for succ in self.succs.get(nid, []):
                if succ in waiting:
                    waiting[succ] -= 1
                    if not waiting[succ]:
                        heapq.heappush(ready, index[succ])
        return out

    def descendants(self, node_id: str) -> list[str]:
        seen: list[str] = []
        stack = list(self.succs.get(node_id, []))
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.append(n)
                stack.extend(self.succs.get(n, []))
        return seen


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
