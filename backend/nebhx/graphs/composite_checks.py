"""Validation of the composite nodes of a graph: the revision exists, the graph does not contain
itself (directly or through nesting), the inner node ids fit, and no setting is silently ignored.

The composite's spec then stands in the palette the other checks use (``Overlay``): its ports
are ordinary ports for the wiring rule.
"""
from __future__ import annotations

from collections import ChainMap
from typing import Any

from nebhx.engine.library import MAX_INNER_ID, MAX_NESTING, SEP, Library, is_composite, parse_ref, ref, spec_of
from nebhx.graph_model import Graph, Node
from nebhx.graphs.problem import Problem

UNSUPPORTED = ("for_each", "retries", "timeout_s")


class CompositeBrick:
    """What ``Overlay.get`` answers for a composite: it is known (its spec is in ``specs``)."""
    host_input = None


class Overlay:
    """A registry with the composite specs of one graph laid over it (``get`` and ``specs``)."""

    def __init__(self, registry, specs: dict[str, dict[str, Any]]):
        self.registry, self.extra = registry, specs
        self.specs = ChainMap(specs, registry.specs)

    def get(self, brick_id: str):
        return self.registry.get(brick_id) or (CompositeBrick if brick_id in self.extra else None)


def check_composites(graph: Graph, registry, library: Library | None,
                     graph_id: str | None) -> tuple[Any, list[Problem]]:
    """The registry to check the rest with, and the problems of the composite nodes."""
    used = [(i, n) for i, n in enumerate(graph.nodes) if is_composite(n.brick)]
    if not used:
        return registry, []
    lib = library or Library(includes=graph.includes)
    specs: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for i, node in used:
        found = lib.lookup(node.brick)
        if isinstance(found, str):
            problems.append(Problem("unknown_brick", f"node {node.id!r} uses {node.brick}: {found}", node.id,
                                    path=f"/nodes/{i}/brick"))
            continue
        gid, rev, inner = found
        trail = _containment(lib, {graph_id} if graph_id else set(), [f"{node.id} ({ref(gid, rev)})"], gid, inner, 1)
        if trail:
            problems.append(Problem("composite_cycle", f"node {node.id!r} would make graph "
                                    f"{graph_id or graph.name!r} contain itself: {trail}", node.id,
                                    path=f"/nodes/{i}/brick"))
            continue
        problems += _settings(node, i) + _ids(graph, node, i, lib, inner)
        specs[node.brick] = spec_of(lib, registry, gid, rev, inner)
    return Overlay(registry, specs), problems


def _containment(lib: Library, seen: set[str], trail: list[str], gid: str, graph: Graph, depth: int) -> str | None:
    """The chain of composites through which a graph in ``seen`` contains itself, or None."""
    if gid in seen:
        return " -> ".join([*(s for s in seen if s == gid), *trail])
    if depth > MAX_NESTING:
        return " -> ".join(trail) + f" (composites nest more than {MAX_NESTING} deep)"
    for node in graph.nodes:
        parsed = parse_ref(node.brick) if is_composite(node.brick) else None
        if parsed is None or parsed[1] is None:
            continue
        inner = lib.graph(*parsed)
        if inner is not None:
            found = _containment(lib, seen | {gid}, [*trail, f"{node.id} ({node.brick})"], parsed[0], inner, depth + 1)
            if found:
                return found
    return None


def _settings(node: Node, index: int) -> list[Problem]:
    """A composite node is not one brick run: these settings belong on its inner nodes."""
    return [Problem("composite", f"node {node.id!r} is a composite: {name} is not supported on it "
                    "(set it on its inner nodes)", node.id, None, f"/nodes/{index}/{name}")
            for name in UNSUPPORTED if getattr(node, name)]


def longest_inner(lib: Library, graph: Graph, depth: int = 0) -> int:
    """The length of the longest inner id (``a:b:c``) a run of ``graph`` would write below a node."""
    most = 0
    for node in graph.nodes:
        size = len(node.id)
        parsed = parse_ref(node.brick) if is_composite(node.brick) and depth < MAX_NESTING else None
        if parsed and parsed[1] is not None and (inner := lib.graph(*parsed)) is not None and inner.nodes:
            size += len(SEP) + longest_inner(lib, inner, depth + 1)
        most = max(most, size)
    return most


def _ids(graph: Graph, node: Node, index: int, lib: Library, inner: Graph) -> list[Problem]:
    """Inner nodes run as ``<node>:<inner>``: no other node may be named so, and the ids must fit."""
    problems = [Problem("duplicate_id", f"node id {other.id!r} is reserved for the inner nodes of composite "
                        f"node {node.id!r} (<node>{SEP}<inner node>)", other.id, path=f"/nodes/{j}/id")
                for j, other in enumerate(graph.nodes) if other.id.startswith(node.id + SEP)]
    size = len(node.id) + len(SEP) + longest_inner(lib, inner) if inner.nodes else 0
    if size > MAX_INNER_ID:
        problems.append(Problem("composite", f"node {node.id!r}: its inner node ids would be {size} characters "
                                f"long (at most {MAX_INNER_ID}); use a shorter node id", node.id,
                                path=f"/nodes/{index}/id"))
    return problems
