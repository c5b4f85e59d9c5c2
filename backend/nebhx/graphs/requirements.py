"""What cannot work is refused before a run: the requirements bricks declare (``Brick.requires``).

A requirement says an input becomes necessary when others hold some values, defaults
included: ``rollout.switch`` left on ``data_policy: snapshot`` needs ``volume``; a command
that uses ``{data}`` needs the data path. Here a node's params are checked as the document
has them: a wired input, or one set from a graph input, is known only at run time and counts
as given (the plan, which knows the run's inputs, checks it again with their values).
"""
from __future__ import annotations

from nebhx.bricks.base import Unknown
from nebhx.bricks.planning import requirement_message, unmet
from nebhx.bricks.registry import Registry
from nebhx.graph_model import Graph
from nebhx.graphs.problem import Problem


def check_requirements(graph: Graph, registry: Registry) -> list[Problem]:
    wired = {(e.to.node, e.to.port) for e in graph.edges if e.is_data}
    problems = []
    for i, node in enumerate(graph.nodes):
        cls = registry.get(node.brick)
        if cls is None or not getattr(cls, "requires", ()):
            continue
        given = {name: Unknown("(at run time)") if isinstance(value, dict) and ({"$input", "$secret"} & set(value))
                 else value for name, value in node.params.items()}
        given.update({port: Unknown("(wired)") for (nid, port) in wired if nid == node.id})
        if node.for_each:
            given[node.for_each] = Unknown("(each item)")
        for req, need, because in unmet(cls, given):
            problems.append(Problem("requirement", f"node {node.id!r}: {requirement_message(req, need, because)}",
                                    node.id, need, f"/nodes/{i}/params/{need}"))
    return problems
