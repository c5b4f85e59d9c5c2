"""A big fan-out's items run many to a message: each still its own row, and a worker killed
in the middle of a message loses no item (those it had claimed run again)."""
from __future__ import annotations

import json
import signal

from support import graph, stack_fixture, wait_for

# Kills and restarts its worker: a stack of its own, not the session's.
stack = stack_fixture("module")
ITEMS = 200  # 13 items a message on the stack's 4 worker processes (dispatch.chunks)


def _items(run: dict) -> list[dict]:
    return run["nodes"]["f"]["items"]


def test_every_item_of_a_big_fan_out_is_its_own_succeeded_row_in_item_order(stack):
    seconds = [round(0.001 * (i % 7), 3) for i in range(ITEMS)]
    run = stack.run(graph("chunked", [("f", "test.sleep", {"seconds": seconds}, {"for_each": "seconds"})]),
                    timeout=180)
    assert run["status"] == "succeeded", run["error"]
    items = _items(run)
    assert [i["status"] for i in items] == ["succeeded"] * ITEMS
    assert [i["outputs"]["slept"] for i in items] == seconds
    assert run["nodes"]["f"]["outputs"]["slept"] == seconds
    with stack.client() as c:  # the stream of a finished run: every event, then it ends
        text = c.get(f"/runs/{run['id']}/events").text
    events = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]
    for status in ("queued", "running", "succeeded"):  # each item's own events, as a lone node's
        assert sum(e["node"] is not None and e["node"].startswith("f[") and e["status"] == status
                   for e in events) == ITEMS, status


def test_a_worker_killed_in_the_middle_of_a_message_loses_no_item(stack):
    run = stack.run(graph("chunk-kill", [("f", "test.sleep", {"seconds": [0.03] * ITEMS}, {"for_each": "seconds"})]),
                    wait=False)
    wait_for(lambda: sum(i["status"] == "succeeded" for i in _items(stack.get_run(run["id"]))) >= 20, 120, 0.05,
             what="some items ended")
    stack.kill("worker", signal.SIGKILL)
    # Claimed by the dead worker's messages: running until the sweep sees the worker dead.
    held = [n for n, i in enumerate(_items(stack.get_run(run["id"]))) if i["status"] == "running"]
    stack.start_worker()
    done = stack.wait_run(run["id"], 180)
    assert done["status"] == "succeeded", done["error"]
    items = _items(done)
    assert [i["status"] for i in items] == ["succeeded"] * ITEMS
    assert held, "the kill landed between messages: nothing was claimed"
    assert all(items[n]["attempt"] >= 2 for n in held), [(n, items[n]["attempt"]) for n in held]
