"""A plan's host items, sent to the hosts' agents in waves (see nebhx.plans.dryrun).

Host items are queued per host; ``flush`` sends every queue at once (one batch per host, its
items in dependency order, with what earlier items will have changed there) and fills each
item's plan entry in place from the answers. An output of a queued item is a ``Future`` until
then: the plan sends its queues only when a later node needs such an output.
"""
from __future__ import annotations

import time
from collections import defaultdict
from typing import Any, Protocol

from nebhx.bricks.base import UNKNOWN_EFFECT
from nebhx.bricks.planning import Planned, cannot_tell, decode, encode


ORDER_DEPENDENT = ("changed", "previous", "previous_release", "staged", "rendered")


class HostPlanner(Protocol):
    def ask(self, batches: dict[str, dict[str, Any]], timeout_s: float) -> dict[str, dict[str, Any]]:
        """Each host's answer to its batch: ``{"items": {id: plan}}`` or ``{"error": why}``."""


class Pending:
    """A host item queued for its host's agent; ``entry`` is filled in place when it answers."""

    def __init__(self, item: str, host: str, brick: str, values: dict[str, Any], entry: dict[str, Any],
                 conditional: bool, node: tuple[str, str] = ("", "")):
        self.id, self.host, self.brick, self.values = item, host, brick, values
        self.entry, self.conditional = entry, conditional
        self.node = node  # (graph prefix, node id): which graph's order applies
        self.told: dict[str, Any] | None = None

    def races(self, other: Pending) -> None:
        """``other`` changes the same thing on this host with no order between the two: which
        goes first, so what this one finds there, is known only at run time."""
        if self.entry.get("races"):
            return
        self.entry.update(races=other.id, changes=None, effect=(
            f"cannot tell: {other.id} changes the same on host {self.host} with no order between them, so "
            f"which goes first is known only at run time (in graph order: {self.entry.get('effect')})"))
        for outs in (self.entry.get("outputs"), (self.told or {}).get("outputs")):
            for port in ORDER_DEPENDENT if isinstance(outs, dict) else ():
                outs.pop(port, None)

    def fill(self, told: dict[str, Any]) -> None:
        told = dict(told)
        told.pop("sets", None)
        self.told = told
        self.entry["effect"] = told.pop("effect", UNKNOWN_EFFECT)
        self.entry.update(told)


class Future:
    """One output of a queued host item, known once its host answered."""

    def __init__(self, item: Pending, port: str):
        self.item, self.port = item, port


def unanswered(value: Any) -> bool:
    """``value`` holds an output of a host item whose host has not answered yet."""
    if isinstance(value, Future):
        return value.item.told is None
    if isinstance(value, list):
        return any(unanswered(v) for v in value)
    if isinstance(value, dict):
        return any(unanswered(v) for v in value.values())
    return False


class Waves:
    """What one plan shares with its composites' inner plans: the hosts' queues, what each host
    will hold (``Planned``), the deadline and the item count."""

    def __init__(self, hosts: HostPlanner | None, timeout_s: float, host_timeout_s: float):
        self.hosts, self.host_timeout_s = hosts, host_timeout_s
        self.deadline, self.timeout_s = time.monotonic() + timeout_s, timeout_s
        self.pending: list[Pending] = []
        self.planned: dict[str, Planned] = defaultdict(Planned)
        self.count = 0
        self.graphs: dict[str, Any] = {}  # graph prefix -> its Plan (for the order between nodes)
        self._setters: dict[tuple[str, tuple], Pending] = {}  # (host, fact path) -> who set it last
        self._after: dict[tuple[str, str], set[str]] = {}

    def out_of_time(self) -> str | None:
        return f"the plan's {self.timeout_s:g} s ran out before this node" if time.monotonic() > self.deadline else None

    def flush(self) -> None:
        todo, self.pending = [p for p in self.pending if p.told is None], []
        if not todo:
            return
        left = self.deadline - time.monotonic()
        if left <= 0 or self.hosts is None:
            why = "no host planner" if self.hosts is None else f"the plan's {self.timeout_s:g} s ran out"
            for p in todo:
                p.fill(cannot_tell(why))
            return
        timeout = min(self.host_timeout_s, left)
        batches: dict[str, dict[str, Any]] = {}
        for p in todo:
            batch = batches.setdefault(p.host, {"items": [], "planned": encode(self.planned[p.host].facts),
                                                "deadline_s": round(timeout * 0.8, 3)})
            batch["items"].append({"id": p.id, "brick": p.brick, "inputs": encode(p.values),
                                   "conditional": p.conditional})
        answers = self.hosts.ask(batches, timeout)
        for p in todo:
            answer = answers.get(p.host) or {"error": f"host {p.host} did not answer"}
            told = (answer.get("items") or {}).get(p.id)
            told = decode(told) if isinstance(told, dict) else cannot_tell(
                answer.get("error") or f"host {p.host} did not plan {p.id}")
            sets = told.get("sets") if not p.conditional and "items" in answer else None
            p.fill(told)
            if sets:
                self.planned[p.host].merge(sets)
                self._check_order(p, sets)

    def _check_order(self, p: Pending, sets: dict[str, Any]) -> None:
        for path in _paths(sets):
            other = self._setters.get((p.host, path))
            if other is not None and other is not p and not self._ordered(other, p):
                other.races(p)
                p.races(other)
            self._setters[(p.host, path)] = p

    def _ordered(self, a: Pending, b: Pending) -> bool:
        if a.node[0] != b.node[0] or a.node[1] == b.node[1] or a.node[0] not in self.graphs:
            return True  # another graph's order, or items of one node: not told apart here
        return b.node[1] in self._later(a.node) or a.node[1] in self._later(b.node)

    def _later(self, node: tuple[str, str]) -> set[str]:
        if node not in self._after:
            self._after[node] = set(self.graphs[node[0]].descendants(node[1]))
        return self._after[node]


def _paths(sets: dict[str, Any], at: tuple = ()) -> list[tuple]:
    """Each fact a plan's ``sets`` changes, as a path (("current", "web"), ...)."""
    out: list[tuple] = []
    for key, value in sets.items():
        if isinstance(value, dict) and value and at[:1] != ("instances",) and len(at) < 2:
            out += _paths(value, (*at, key))
        else:
            out.append((*at, key))
    return out
