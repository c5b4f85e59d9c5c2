"""A control worker follows a chain: ending a node, it claims one successor that end readied
for the control queue in the same transaction and runs it next, with no message. The run,
its nodes and its events read as if each node had been sent and claimed; what is not for
this worker (a host's node, a second successor, a node after the time allowed) is sent."""
from __future__ import annotations

from support import graph, order, wire


def follow(eng, limit_s: float | None = None, monkeypatch=None) -> int:
    """Deliver the oldest message as the Celery task does; how many attempts it ran."""
    from nebhx.engine import execute
    from nebhx.engine.claims import DbExecution
    from nebhx.engine.patience import StorePatient
    if limit_s is not None:
        monkeypatch.setattr(execute, "FOLLOW_S", limit_s)
    d = eng.sent.pop(0)
    return execute.execute_following(d.run_id, d.node_id, d.attempt, StorePatient(DbExecution(eng.url)))


def test_a_chain_runs_from_one_message_with_every_step_recorded(any_eng):
    eng = any_eng
    doc = graph("chain", [("a", "test.echo", {"text": "hi"}), ("b", "test.echo"), ("c", "test.noop")],
                [wire("a", "text", "b", "text"), order("b", "c")])
    run_id = eng.start(doc)
    assert [d.node_id for d in eng.sent] == ["a"]
    assert follow(eng) == 3
    assert eng.sent == []  # b and c were claimed by the worker that ended their predecessor
    run = eng.run(run_id)
    assert run["status"] == "succeeded"
    assert run["nodes"]["b"]["outputs"] == {"text": "hi"}  # its input read from a, ended in the same step
    assert {k: n["attempt"] for k, n in run["nodes"].items()} == {"a": 1, "b": 1, "c": 1}
    steps = [(e["node"], e["status"], e["data"].get("attempt")) for e in eng.events(run_id) if e["node"]]
    assert steps == [("a", "queued", 1), ("a", "running", 1), ("a", "succeeded", None),
                     ("b", "queued", 1), ("b", "running", 1), ("b", "succeeded", None),
                     ("c", "queued", 1), ("c", "running", 1), ("c", "succeeded", None)]  # in the order they happened
    assert eng.events(run_id)[-1]["status"] == "succeeded" and eng.events(run_id)[-1]["node"] is None


def test_of_several_successors_one_is_followed_and_the_others_sent(any_eng):
    eng = any_eng
    doc = graph("fan", [("a", "test.noop"), ("b", "test.noop"), ("c", "test.noop"), ("d", "test.noop")],
                [order("a", "b"), order("a", "c"), order("a", "d")])
    run_id = eng.start(doc)
    assert follow(eng) == 2
    assert [d.node_id for d in eng.sent] == ["c", "d"]  # for the other workers, at once
    assert eng.statuses(run_id) == {"a": "succeeded", "b": "succeeded", "c": "queued", "d": "queued"}
    eng.drain()
    assert eng.run(run_id)["status"] == "succeeded"


def test_a_node_for_a_host_is_sent_to_its_queue(eng):
    doc = graph("to-host", [("a", "test.noop"), ("h", "test.host_noop", {"host": "local"}), ("z", "test.noop")],
                [order("a", "h"), order("h", "z")])
    run_id = eng.start(doc)
    assert follow(eng) == 1
    assert [(d.node_id, d.queue) for d in eng.sent] == [("h", "host.local")]
    assert eng.statuses(run_id)["h"] == "queued"


def test_past_the_time_allowed_the_next_node_is_sent(eng, monkeypatch):
    doc = graph("chain", [("a", "test.noop"), ("b", "test.noop")], [order("a", "b")])
    run_id = eng.start(doc)
    assert follow(eng, 0.0, monkeypatch) == 1
    assert [d.node_id for d in eng.sent] == ["b"]
    assert eng.statuses(run_id) == {"a": "succeeded", "b": "queued"}


def test_a_failure_follows_into_the_nodes_its_rules_start_and_skips_the_others(eng):
    doc = graph("rules", [("a", "test.fail"), ("ok", "test.noop"),
                          ("undo", "test.noop", {}, {"trigger": "any_failed"})],
                [order("a", "ok"), order("a", "undo")])
    run_id = eng.start(doc)
    assert follow(eng) == 2
    assert eng.sent == []
    assert eng.statuses(run_id) == {"a": "failed", "ok": "skipped", "undo": "succeeded"}
    assert eng.run(run_id)["status"] == "failed"


def test_a_stale_message_runs_nothing(eng):
    doc = graph("one", [("a", "test.noop")])
    eng.start(doc)
    again = eng.sent[0]
    assert follow(eng) == 1
    eng.sent.append(again)  # delivered twice
    assert follow(eng) == 0


def test_a_retry_is_sent_after_its_backoff_not_followed(eng):
    doc = graph("retry", [("a", "test.noop"), ("f", "test.fail", {}, {"retries": 1})], [order("a", "f")])
    run_id = eng.start(doc)
    assert follow(eng) == 2  # a, then f's first attempt
    assert [(d.node_id, d.attempt, d.countdown > 0) for d in eng.sent] == [("f", 2, True)]
    assert eng.statuses(run_id)["f"] == "queued"
