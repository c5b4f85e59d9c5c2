"""A parameter nested 500 levels deep: refused when the graph is saved (nebhx.limits); and
should one reach a claim anyway (a graph stored before that limit), the node fails with
the reason and its retries, the run ends, and the API still reads it."""
from __future__ import annotations

import pytest
from test_queue_recovery import engine, start  # noqa: F401 - the fixture, shared

from support import graph


def deep_graph(levels: int) -> dict:
    nested = "x"
    for _ in range(levels):
        nested = {"k": nested}
    return graph("deep", [("n", "notify.webhook", {"url": "http://127.0.0.1:9/", "payload": nested},
                           {"retries": 1})])


def test_a_500_deep_parameter_is_refused_when_the_graph_is_saved(engine):  # noqa: F811
    from nebhx.graphs.validate import GraphInvalid
    with pytest.raises(GraphInvalid, match="nested deeper than"):
        start(deep_graph(500))


def test_a_node_whose_inputs_cannot_be_prepared_fails_with_its_reason_and_retries(engine):  # noqa: F811
    from fastapi.testclient import TestClient

    from nebhx.api.app import create_app
    from nebhx.engine import claims
    from nebhx.engine.execute import execute_node
    from nebhx.settings import reset_settings
    engine.setenv("NEBHX_RETRY_BASE_S", "0")
    reset_settings()
    run_id = start(deep_graph(3))

    def too_deep(*_):  # what resolving a 500-deep parameter raised before the limit existed
        raise RecursionError("maximum recursion depth exceeded")
    engine.setattr(claims, "resolve_inputs", too_deep)
    deliveries = 0
    while engine.sent and deliveries < 5:  # bounded: a node that looped would show here
        d = engine.sent.pop(0)
        execute_node(d.run_id, d.node_id, d.attempt)
        deliveries += 1
    assert deliveries == 2 and not engine.sent  # the first attempt and its one retry
    with TestClient(create_app(sweeper=False), base_url="http://127.0.0.1:8750") as client:
        run = client.get(f"/api/runs/{run_id}").json()
        assert client.get(f"/api/runs/{run_id}/events").status_code == 200
    node = run["nodes"]["n"]
    assert run["status"] == "failed" and node["status"] == "failed" and node["attempt"] == 2
    assert node["error"].startswith("could not prepare the node's inputs: RecursionError"), node["error"]
