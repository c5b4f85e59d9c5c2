"""Queued nodes are never left to nobody: a lost message is sent again, a duplicate runs
nothing twice, a retry keeps its backoff, a node nobody takes fails naming its queue.

In-process over a SQLite store: what the broker would deliver is run here by hand."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from support import TEST_BLOCKS, fresh_palette, graph


@pytest.fixture
def engine(monkeypatch, tmp_path):
    """Settings over a fresh store; ``engine.sent`` collects what would reach the broker."""
    from nebhx.engine import celery_app
    from nebhx.settings import reset_settings
    monkeypatch.setenv("NEBHX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEBHX_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("NEBHX_BLOCKS_PATH", str(TEST_BLOCKS))
    monkeypatch.setenv("NEBHX_LEASE_S", "0.5")
    reset_settings()
    fresh_palette()
    sent: list = []
    monkeypatch.real_send = celery_app.send
    monkeypatch.setattr(celery_app, "send", sent.extend)
    monkeypatch.sent = sent
    yield monkeypatch
    reset_settings()


def start(doc: dict) -> str:
    from nebhx.graphs.service import ensure_graph
    from nebhx.runs.service import create_run
    from nebhx.store.db import session_scope
    with session_scope() as s:
        gid, rev = ensure_graph(s, doc=doc)
        run_id, _ = create_run(s, graph_id=gid, revision=rev)
    return run_id


def node_row(run_id: str, node_id: str):
    from nebhx.store.db import session_scope
    from nebhx.store.models import NodeRow
    with session_scope() as s:
        row = s.get(NodeRow, (run_id, node_id))
        s.expunge(row)
        return row


def test_six_deliveries_of_one_message_run_the_node_once(engine, tmp_path):
    from nebhx.engine.execute import execute_node
    ledger = tmp_path / "ledger"
    run_id = start(graph("dup", [("n", "test.counted", {"ledger": str(ledger), "seconds": 0.3})]))
    [d] = engine.sent
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda _: execute_node(d.run_id, d.node_id, d.attempt), range(6)))
    assert ledger.read_text().splitlines() == ["START n 1", "END n 1"]
    row = node_row(run_id, "n")
    assert (row.status, row.attempt) == ("succeeded", 1)


def test_a_retry_keeps_its_backoff_however_long(engine, tmp_path):
    """A 120 s backoff is far past the sweep's resend delay: the sweep leaves it alone, and
    when it must send it again (the broker lost its messages) the delay goes along."""
    from nebhx.engine.execute import execute_node
    from nebhx.engine.sweeper import sweep_once
    from nebhx.settings import reset_settings
    from nebhx.store.models import utcnow
    engine.setenv("NEBHX_RETRY_BASE_S", "120")
    reset_settings()
    doc = graph("backoff", [("f", "test.fail", {"fail_times": 1, "counter_file": str(tmp_path / "c")},
                             {"retries": 1})])
    run_id = start(doc)
    d = engine.sent.pop()
    execute_node(d.run_id, d.node_id, d.attempt)
    [retry] = engine.sent
    assert retry.countdown == 120
    row = node_row(run_id, "f")
    assert row.status == "queued" and row.attempt == 2
    assert row.queued_at.replace(tzinfo=None) > (utcnow() + timedelta(seconds=110)).replace(tzinfo=None)
    assert sweep_once() == []
    [again] = sweep_once(resend_all=True)
    assert (again.node_id, again.attempt) == ("f", 2) and 110 < again.countdown <= 120


def test_a_failed_publish_is_sent_again_by_the_next_sweep_once_the_broker_answers(engine):
    from nebhx.engine import celery_app
    from nebhx.engine.sweeper import sweep_once

    def refused(*_, **__):
        raise ConnectionRefusedError("the broker is down")
    engine.setattr(celery_app, "send", engine.real_send)  # the real send, with a broker that refuses
    engine.setattr(celery_app.app, "send_task", refused)
    run_id = start(graph("lost", [("n", "test.noop")]))
    assert node_row(run_id, "n").status == "queued"
    sent: list = []
    engine.setattr(celery_app, "send", sent.extend)
    assert sweep_once(can_send=False) == [] and sent == []  # still down: nothing sent, nothing lost
    [d] = sweep_once()
    assert (d.run_id, d.node_id, d.attempt, d.countdown) == (run_id, "n", 1, 0.0)
    assert sent == [d]
    assert sweep_once() == []  # sent again once, not on every sweep


@pytest.mark.parametrize("limit", ["timeout_s", "NEBHX_QUEUE_TIMEOUT_S"])
def test_a_node_nobody_takes_fails_naming_its_queue(engine, limit):
    import re
    from datetime import timedelta

    from nebhx.engine.sweeper import sweep_once
    from nebhx.settings import reset_settings
    from nebhx.store.db import session_scope
    from nebhx.store.models import NodeRow
    extra = {"timeout_s": 5} if limit == "timeout_s" else {}
    if limit != "timeout_s":
        engine.setenv("NEBHX_QUEUE_TIMEOUT_S", "5")
        reset_settings()
    run_id = start(graph("nobody", [("n", "test.noop", {}, extra), ("after", "test.noop")],
                         [{"from": {"node": "n"}, "to": {"node": "after"}}]))
    sweep_once()
    assert node_row(run_id, "n").status == "queued"  # not yet
    with session_scope() as s:  # 6 s pass for the queue, not for the test (no sleep to outrun)
        row = s.get(NodeRow, (run_id, "n"))
        row.queued_at -= timedelta(seconds=6)
    sweep_once()
    row = node_row(run_id, "n")
    assert row.status == "failed"
    waited = re.match(r"no worker for queue nebhx \(queued for (\d+) s\)", row.error or "")
    assert waited and int(waited.group(1)) >= 6, row.error
    assert node_row(run_id, "after").status == "skipped"
    from nebhx.store.models import RunRow
    with session_scope() as s:
        assert s.get(RunRow, run_id).status == "failed"
