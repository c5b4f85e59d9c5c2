"""GET /metrics: Nebh-X's own numbers in Prometheus' format, read from the store, behind a
viewer's credential like every other read."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from support import Stack, graph, make_env, order, wait_for


def samples(text: str) -> dict[tuple, float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: dict, name: str, **labels) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def test_metrics_count_runs_nodes_and_agents(tmp_path):
    s = Stack(tmp_path, make_env(tmp_path, NEBHX_AGENT_HEARTBEAT_S="0.5")).start()
    try:
        ok = s.run(graph("fine", [("a", "test.noop"), ("b", "test.sleep", {"seconds": 0.3})], [order("a", "b")]))
        bad = s.run(graph("broken", [("f", "test.fail")]))
        assert (ok["status"], bad["status"]) == ("succeeded", "failed")
        wait_for(lambda: any(h["name"] == "local" for h in s.client().get("/hosts").json()), 20, what="agent seen")
        resp = s.client().get(s.url + "/metrics")
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
        found = samples(resp.text)
    finally:
        s.stop()
    assert value(found, "nebhx_runs", status="succeeded") == 1
    assert value(found, "nebhx_runs", status="failed") == 1
    assert value(found, "nebhx_runs", status="running") == 0
    assert value(found, "nebhx_node_duration_seconds_count", brick="test.sleep") == 1
    assert value(found, "nebhx_node_duration_seconds_sum", brick="test.sleep") >= 0.3
    assert value(found, "nebhx_node_duration_seconds_bucket", brick="test.sleep", le="0.25") == 0
    assert value(found, "nebhx_node_duration_seconds_bucket", brick="test.sleep", le="+Inf") == 1
    assert value(found, "nebhx_node_queue_wait_seconds_count", brick="test.fail") == 1
    assert value(found, "nebhx_agent_up", host="local") == 1
    assert value(found, "nebhx_agent_last_heartbeat_seconds", host="local") > 1.7e9
    assert value(found, "nebhx_rollbacks_total", brick="rollout.rollback", status="failed") == 0
