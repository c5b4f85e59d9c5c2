"""Batched fan-out: batches in item order that never overlap, max_parallel, pauses that hold no
worker, max_failures, and a worker killed between batches."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from support import TEST_BLOCKS, graph, stack_fixture, wait_for

from nebhx.bricks.registry import load_registry

# Kills and restarts its workers (or API): a stack of its own, not the session's.
stack = stack_fixture("module")

ROOT = Path(__file__).resolve().parents[2]


def _t(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def batches_seen(items: list[dict]) -> list[list[int]]:
    """Group items into the batches they ran in: an item that started before every item so far
    had finished belongs to the current batch."""
    groups: list[list[int]] = []
    for i, item in sorted(enumerate(items), key=lambda p: _t(p[1]["started_at"])):
        if groups and _t(item["started_at"]) < max(_t(items[j]["finished_at"]) for j in groups[-1]):
            groups[-1].append(i)
        else:
            groups.append([i])
    return [sorted(g) for g in groups]


def fan(name: str, items: list, brick: str = "test.sleep", port: str = "seconds", **settings) -> dict:
    return graph(name, [("f", brick, {port: items}, {"for_each": port, **settings}),
                        ("after", "test.noop")], [{"from": {"node": "f"}, "to": {"node": "after"}}])


@pytest.mark.parametrize(("batch", "expected"), [(2, [[0, 1], [2, 3], [4]]), ("30%", [[0, 1], [2, 3], [4]]),
                                                 ("50%", [[0, 1, 2], [3, 4]])])
def test_batches_run_in_order_and_never_overlap(stack, batch, expected):
    run = stack.run(fan(f"batches-{batch}", [0.4] * 5, batch=batch))
    assert run["status"] == "succeeded", run
    items = run["nodes"]["f"]["items"]
    assert batches_seen(items) == expected
    for earlier, later in zip(expected, expected[1:]):
        ended = max(_t(items[i]["finished_at"]) for i in earlier)
        assert min(_t(items[i]["started_at"]) for i in later) >= ended
    assert run["nodes"]["f"]["outputs"]["slept"] == [0.4] * 5  # gathered in item order, as without batches


def test_without_settings_every_item_starts_at_once(stack):
    run = stack.run(fan("no-batches", [0.6] * 3))
    assert batches_seen(run["nodes"]["f"]["items"]) == [[0, 1, 2]]


def test_max_parallel_caps_the_items_running_at_once(stack):
    run = stack.run(fan("parallel", [0.4] * 5, max_parallel=2))
    items = run["nodes"]["f"]["items"]
    spans = [(_t(i["started_at"]), _t(i["finished_at"])) for i in items]
    most = max(sum(s <= start < f for s, f in spans) for start, _ in spans)
    assert most == 2, spans
    assert run["status"] == "succeeded"


def test_the_pause_between_batches_holds_no_worker(stack):
    run = stack.run(fan("pause", [0.1, 0.1], batch=1, pause_s=2), wait=False)
    wait_for(lambda: stack.get_run(run["id"])["nodes"]["f"]["items"][0]["status"] == "succeeded",
             30, 0.05, "first batch done")
    during = stack.get_run(run["id"])["nodes"]["f"]["items"][1]
    assert during["status"] == "queued" and during["started_at"] is None  # waiting on the broker, not a worker
    items = stack.wait_run(run["id"])["nodes"]["f"]["items"]
    assert _t(items[1]["started_at"]) - _t(items[0]["finished_at"]) >= 2.0


def test_a_worker_killed_between_batches_loses_and_repeats_no_batch(stack, tmp_path):
    ledger = tmp_path / "ledger"
    doc = graph("killed-between", [("c", "test.counted", {"ledger": str(ledger), "seconds": [0.2, 0.2, 0.2]},
                                    {"for_each": "seconds", "batch": 1, "pause_s": 2})])
    run = stack.run(doc, wait=False)
    wait_for(lambda: stack.get_run(run["id"])["nodes"]["c"].get("items", [{}])[0].get("status") == "succeeded",
             30, 0.05, "first batch done")
    assert stack.get_run(run["id"])["nodes"]["c"]["items"][1]["status"] == "queued"
    stack.kill("worker")  # SIGKILL during the pause: it may hold the next batch's message
    stack.start_worker()
    done = stack.wait_run(run["id"], timeout=90)
    assert done["status"] == "succeeded", done
    starts = [line.split()[1] for line in ledger.read_text().splitlines() if line.startswith("START")]
    assert sorted(starts) == ["c[0]", "c[1]", "c[2]"]


@pytest.mark.parametrize(("settings", "words"), [
    ({"batch": "0"}, '/nodes/0/batch: Value error, batch must be a count of at least 1 or a percentage'),
    ({"batch": "150%"}, "not '150%'"),
    ({"batch": 0}, "not 0"),
    ({"pause_s": -1}, "/nodes/0/pause_s: Input should be greater than or equal to 0"),
    ({"max_parallel": 0}, "/nodes/0/max_parallel: Input should be greater than or equal to 1"),
    ({"max_failures": -1}, "/nodes/0/max_failures: Input should be greater than or equal to 0"),
])
def test_bad_batch_settings_are_refused_naming_node_and_field(settings, words):
    from nebhx.graphs.validate import validate_graph
    _, problems = validate_graph(fan("bad", [1], **settings), load_registry([ROOT / "blocks", TEST_BLOCKS]))
    assert len(problems) == 1 and problems[0].node == "f", problems
    assert words in problems[0].message


def test_batch_settings_without_for_each_are_refused():
    from nebhx.graphs.validate import validate_graph
    doc = graph("no-fan", [("s", "test.sleep", {"seconds": 1}, {"batch": 2, "pause_s": 1})])
    _, problems = validate_graph(doc, load_registry([ROOT / "blocks", TEST_BLOCKS]))
    assert [p.message for p in problems] == [
        "node 's' sets batch but has no for_each (batch settings apply to fan-out nodes only)",
        "node 's' sets pause_s but has no for_each (batch settings apply to fan-out nodes only)"]
