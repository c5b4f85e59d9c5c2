"""Fan-out and batches in process (the rules; test_fanout.py and test_batches.py keep what
needs real workers: overlap in time, pauses on the broker, a worker killed between batches)."""
from __future__ import annotations

from support import graph, wire


def fan(name: str, items: list, brick: str = "test.noop", port: str = "", **settings) -> dict:
    if brick == "test.noop":
        brick, port = "test.echo", "text"
    return graph(name, [("f", brick, {port: items}, {"for_each": port, **settings}), ("after", "test.noop")],
                 [{"from": {"node": "f"}, "to": {"node": "after"}}])


def sent_items(eng) -> list[str]:
    return sorted(d.node_id for d in eng.sent)


def test_batches_start_in_item_order_each_once_the_last_has_ended(eng):
    run_id = eng.start(fan("batches", ["a", "b", "c", "d", "e"], batch=2))
    assert sent_items(eng) == ["f[0]", "f[1]"]
    eng.step()
    assert sent_items(eng) == ["f[1]"]  # the next batch waits for the whole current one
    eng.step()
    assert sent_items(eng) == ["f[2]", "f[3]"]
    eng.step(), eng.step()
    assert sent_items(eng) == ["f[4]"]
    eng.drain()
    assert eng.run(run_id)["nodes"]["f"]["outputs"] == {"text": ["a", "b", "c", "d", "e"]}


def test_max_parallel_keeps_that_many_items_going(eng):
    eng.start(fan("parallel", list("abcde"), max_parallel=2))
    assert sent_items(eng) == ["f[0]", "f[1]"]
    eng.step()
    assert sent_items(eng) == ["f[1]", "f[2]"]


def test_the_pause_between_batches_is_the_next_batch_s_countdown(eng):
    eng.start(fan("pause", ["a", "b"], batch=1, pause_s=2))
    assert [d.countdown for d in eng.sent] == [0.0]
    eng.step()
    assert [(d.node_id, d.countdown) for d in eng.sent] == [("f[1]", 2.0)]


def test_max_failures_stops_further_batches_and_says_why(eng):
    run_id = eng.start(fan("failures", [True, False, False, False, False, False], brick="test.fail", port="fail",
                           batch=2, max_failures=0))
    eng.drain()
    run = eng.run(run_id)
    f = run["nodes"]["f"]
    assert [i["status"] for i in f["items"]] == ["failed", "succeeded"] + ["skipped"] * 4
    assert {i["error"] for i in f["items"][2:]} == {"not started: 1 items failed (max_failures 0)"}
    assert all(i["started_at"] is None for i in f["items"][2:])
    assert f["status"] == "failed" and f["outputs"]["value"] == [None, "passed", None, None, None, None]
    assert run["nodes"]["after"]["status"] == "skipped" and run["status"] == "failed"


def test_failures_up_to_max_failures_let_the_batches_go_on(eng):
    run_id = eng.start(fan("tolerated", [True, False, True, False], brick="test.fail", port="fail", batch=1,
                           max_failures=2))
    eng.drain()
    assert [i["status"] for i in eng.run(run_id)["nodes"]["f"]["items"]] == ["failed", "succeeded", "failed",
                                                                             "succeeded"]


def test_fan_out_zip_and_gather(eng):
    run_id = eng.start(graph("fan", [
        ("fan", "test.echo", {"text": ["a", "b", "c"]}, {"for_each": "text"}),
        ("again", "core.template", {"values": {"k": 1}}, {"for_each": "template"}),
        ("tagged", "test.where", {"host": "local"}, {"for_each": "tag"}),
        ("join", "test.collect", {"sep": "+"}),
    ], [wire("fan", "text", "again", "template"), wire("again", "text", "tagged", "tag"),
        wire("tagged", "tag", "join", "items")]))
    eng.drain()
    run = eng.run(run_id)
    assert run["status"] == "succeeded", run
    fan_ = run["nodes"]["fan"]
    assert [i["id"] for i in fan_["items"]] == ["fan[0]", "fan[1]", "fan[2]"]
    assert [i["status"] for i in fan_["items"]] == ["succeeded"] * 3
    assert [i["item"] for i in fan_["items"]] == ["a", "b", "c"]
    assert fan_["outputs"] == {"text": ["a", "b", "c"]}
    assert run["nodes"]["tagged"]["outputs"]["host"] == ["local"] * 3
    assert run["nodes"]["join"]["outputs"] == {"joined": "a+b+c"}


def test_a_failed_item_fails_its_node_and_names_the_item(eng):
    run_id = eng.start(graph("fan-fail", [("where", "test.where", {"host": ["local", "nowhere"]}, {"for_each": "host"}),
                                          ("after", "test.collect", {})], [wire("where", "host", "after", "items")]))
    eng.drain()
    run = eng.run(run_id)
    where = run["nodes"]["where"]
    assert run["status"] == "failed"
    assert [i["status"] for i in where["items"]] == ["succeeded", "failed"]
    assert "unknown host 'nowhere'" in where["items"][1]["error"]
    assert where["error"].startswith("1 of 2 items did not succeed: where[1]: unknown host 'nowhere'")
    assert run["nodes"]["after"]["status"] == "skipped"


def test_empty_list_succeeds_with_empty_outputs(eng):
    run_id = eng.start(graph("fan-empty", [("fan", "test.echo", {"text": []}, {"for_each": "text"}),
                                           ("join", "test.collect")], [wire("fan", "text", "join", "items")]))
    eng.drain()
    run = eng.run(run_id)
    assert run["status"] == "succeeded" and run["nodes"]["join"]["outputs"] == {"joined": ""}
