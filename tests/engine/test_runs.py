"""The engine end to end: real API, real Celery workers, SQLite+filesystem broker and PG+Redis."""
from __future__ import annotations

from datetime import datetime

from support import graph, order, wire


def test_chain_passes_outputs_downstream_and_records_everything(stack):
    doc = graph("chain", [("a", "test.echo", {"text": "volume-url://x"}), ("b", "test.echo"),
                          ("c", "core.template")],
                [wire("a", "text", "b", "text")], outputs=[{"name": "home", "from": {"node": "c", "port": "text"}}])
    doc["edges"].append({"from": {"node": "b", "port": "text"}, "to": {"node": "c", "port": "template"}})
    run = stack.run(doc)
    assert run["status"] == "succeeded", run
    assert run["nodes"]["b"]["inputs"] == {"text": "volume-url://x"}
    assert run["nodes"]["c"]["outputs"] == {"text": "volume-url://x"}
    assert run["outputs"] == {"home": "volume-url://x"}
    for n in run["nodes"].values():
        assert n["started_at"] and n["finished_at"] and n["duration_s"] is not None
    with stack.client() as c:
        assert "echo volume-url://x" in c.get(f"/runs/{run['id']}/nodes/a/log").text


def test_independent_branches_run_at_the_same_time(stack):
    doc = graph("branches", [("s1", "test.sleep", {"seconds": 1.5}), ("s2", "test.sleep", {"seconds": 1.5}),
                             ("join", "test.noop")], [order("s1", "join"), order("s2", "join")])
    run = stack.run(doc)
    assert run["status"] == "succeeded"
    n1, n2 = run["nodes"]["s1"], run["nodes"]["s2"]
    start = max(datetime.fromisoformat(n1["started_at"]), datetime.fromisoformat(n2["started_at"]))
    end = min(datetime.fromisoformat(n1["finished_at"]), datetime.fromisoformat(n2["finished_at"]))
    assert start < end, "the two branches did not overlap"
    assert run["nodes"]["s1"]["outputs"]["pid"] != run["nodes"]["s2"]["outputs"]["pid"]


def test_timeout_fails_the_node(stack):
    run = stack.run(graph("timeout", [("slow", "test.sleep", {"seconds": 60}, {"timeout_s": 1})]))
    assert run["status"] == "failed"
    assert "timed out after 1s" in run["nodes"]["slow"]["error"]


def test_cancel_stops_running_and_pending_nodes_but_runs_always(stack):
    doc = graph("cancel", [("slow", "test.sleep", {"seconds": 60}), ("after", "test.noop"),
                           ("cleanup", "test.noop", {}, {"trigger": "always"})],
                [order("slow", "after"), order("after", "cleanup")])
    run = stack.run(doc, wait=False)
    stack.wait_node(run["id"], "slow", "running")
    with stack.client() as c:
        assert c.post(f"/runs/{run['id']}/cancel").status_code == 200
        assert c.post(f"/runs/{run['id']}/cancel").status_code == 409
    done = stack.wait_run(run["id"], 30)
    nodes = {k: v["status"] for k, v in done["nodes"].items()}
    assert done["status"] == "cancelled"
    assert nodes == {"slow": "cancelled", "after": "cancelled", "cleanup": "succeeded"}


def test_events_stream_replays_from_an_id(stack):
    run = stack.run(graph("events", [("a", "test.noop"), ("b", "test.noop")], [order("a", "b")]))
    with stack.client() as c:
        text = c.get(f"/runs/{run['id']}/events").text
        ids = [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")]
        statuses = [line for line in text.splitlines() if line.startswith("data: ")]
        assert ids == sorted(ids) and len(ids) >= 8
        assert '"status": "succeeded"' in statuses[-1] and '"kind": "run"' in statuses[-1]
        replay = c.get(f"/runs/{run['id']}/events", headers={"Last-Event-ID": str(ids[3])}).text
        assert [int(x[4:]) for x in replay.splitlines() if x.startswith("id: ")] == ids[4:]
        assert c.get("/runs/nope/events").status_code == 404


def test_a_live_stream_misses_no_event_while_nodes_run_side_by_side(stack):
    fan = [(f"f{i}", "test.noop") for i in range(40)]
    doc = graph("live", [("src", "test.noop"), ("sink", "test.noop"), *fan],
                [order("src", n) for n, _ in fan] + [order(n, "sink") for n, _ in fan])
    run = stack.run(doc, wait=False)
    with stack.client() as c:
        with c.stream("GET", f"/runs/{run['id']}/events") as live:
            seen = [int(line[4:]) for line in live.iter_lines() if line.startswith("id: ")]
        replay = c.get(f"/runs/{run['id']}/events").text
    every = [int(line[4:]) for line in replay.splitlines() if line.startswith("id: ")]
    assert len(every) >= 42 * 3 + 2  # queued, running, succeeded per node; the run's start and end
    assert seen == every
