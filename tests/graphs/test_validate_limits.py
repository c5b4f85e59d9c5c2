"""The graph validator (used by the API and `nebhx validate`) refuses documents over the
limits with a problem that names the path, and never raises or recurses into them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import ROOT, TEST_BLOCKS, graph, wire


@pytest.fixture(scope="module")
def registry():
    from nebhx.bricks.registry import load_registry
    return load_registry([ROOT / "blocks", TEST_BLOCKS])


def _problems(doc, registry):
    from nebhx.graphs.validate import validate_graph
    return validate_graph(doc, registry)[1]


def _deep(levels: int):
    value = 1
    for _ in range(levels):
        value = {"v": value}
    return value


def test_deep_params_are_one_problem_naming_node_and_param(registry):
    for levels in (61, 500, 50_000):  # 61: document, nodes, node, params, then 61 more = 65
        doc = graph("deep", [("t", "core.template", {"template": "x", "values": _deep(levels)})])
        [problem] = _problems(doc, registry)
        assert problem.code == "limit" and (problem.node, problem.port) == ("t", "values")
        assert "nested deeper than 64 levels" in problem.message
        assert problem.path.startswith("/nodes/0/params/values/v/v")
    assert _problems(graph("ok", [("t", "core.template", {"template": "x", "values": _deep(60)})]), registry) == []


@pytest.mark.parametrize("value,text", [(float("nan"), "nan"), (float("inf"), "inf"), (2**63, "2^63"),
                                        ("a\x00b", "U+0000"), ("\udfff", "surrogate")])
def test_values_no_store_can_hold_are_problems(registry, value, text):
    doc = graph("v", [("t", "core.template", {"template": "x", "values": {"a": [value]}})])
    [problem] = _problems(doc, registry)
    assert problem.path == "/nodes/0/params/values/a/0" and text in problem.message


def test_node_and_edge_counts_are_capped(registry):
    from nebhx import limits
    many = graph("many", [(f"n{i}", "test.noop") for i in range(limits.MAX_NODES + 1)])
    [problem] = _problems(many, registry)
    assert problem.path == "/nodes" and "20,001 nodes; the limit is 20,000" in problem.message
    wires = graph("wires", [("a", "test.noop")], [wire("a", "value", "a", "x")] * (limits.MAX_EDGES + 1))
    assert _problems(wires, registry)[0].path == "/edges"


def test_ten_thousand_nodes_still_validate(registry):
    n = 10_000
    doc = graph("big", [(f"n{i}", "core.template", {"template": "{{ a }}", "values": {"a": i}}) for i in range(n)])
    assert _problems(doc, registry) == []


def test_the_published_schema_states_the_size_limits():
    schema = json.loads((Path(ROOT) / "backend/nebhx/graphs/graph.schema.json").read_text())
    assert schema["properties"]["nodes"]["maxItems"] == 20_000
    assert schema["properties"]["edges"]["maxItems"] == 100_000
