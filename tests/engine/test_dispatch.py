"""How queued nodes travel: a big fan-out's control items share messages, the rest go alone."""
from __future__ import annotations

from nebhx.engine.dispatch import Dispatch
from nebhx.engine.messages import CHUNK_MAX, chunks


def _items(n: int, **kw) -> list[Dispatch]:
    return [Dispatch("r1", f"f[{i}]", 1, "nebhx", chunk="f", **kw) for i in range(n)]


def test_a_thousand_items_travel_fifty_a_message_each_item_once_in_order():
    messages = chunks(_items(1000), workers=4)
    assert [len(m) for m in messages] == [CHUNK_MAX] * 20
    assert [d.node_id for m in messages for d in m] == [f"f[{i}]" for i in range(1000)]


def test_every_worker_process_gets_messages_and_a_small_fan_out_goes_one_item_a_message():
    assert [len(m) for m in chunks(_items(100), workers=4)] == [7] * 14 + [2]  # 15 messages for 4 workers
    assert [len(m) for m in chunks(_items(16), workers=4)] == [1] * 16  # as before chunks: all in parallel


def test_retries_lone_nodes_and_other_runs_or_queues_never_share_a_message():
    lone = [Dispatch("r1", "a", 1, "nebhx"), Dispatch("r1", "b", 2, "nebhx")]
    later = _items(40, countdown=2.0)  # a batch after its pause: each message keeps its countdown
    other_run = [Dispatch("r2", f"f[{i}]", 1, "nebhx", chunk="f") for i in range(40)]
    other_queue = [Dispatch("r1", f"f[{i}]", 1, "host.web1", chunk="f") for i in range(40)]
    messages = chunks(lone + later + other_run + other_queue, workers=1)
    assert sum(len(m) == 1 for m in messages) == 2 + 40
    for m in messages:
        assert len({(d.run_id, d.queue, d.chunk) for d in m}) == 1
    assert sorted(d.node_id for m in messages for d in m) == sorted(d.node_id for d in lone + later + other_run + other_queue)
