"""Run retention on its own: the sweep collects what retention no longer keeps, audited as the
sweeper, and a graph's keep_days keeps its recent runs whatever their number."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest

from support import Stack, graph, make_env, wait_for


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    home = tmp_path_factory.mktemp("retention")
    stack = Stack(home, make_env(home, NEBHX_RETAIN_RUNS="2", NEBHX_GC_INTERVAL_S="0.5")).start()
    yield stack
    stack.stop()


@contextmanager
def store_of(stack):
    """This process on the stack's store, as `nebhx` on its control plane would be."""
    from nebhx.settings import reset_settings
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEBHX_HOME", stack.env["NEBHX_HOME"])
        mp.setenv("NEBHX_RETAIN_RUNS", "2")
        reset_settings()
        try:
            from nebhx.store.db import session_scope
            with session_scope() as s:
                yield s
        finally:
            reset_settings()


def test_the_sweep_keeps_the_last_runs_of_each_graph_and_audits_what_it_deleted(swept):
    doc = graph("swept", [("e", "test.echo", {"text": "x"})])
    runs = [swept.run(doc)["id"] for _ in range(4)]
    other = swept.run(graph("other", [("e", "test.echo", {"text": "y"})]))["id"]
    with swept.client() as c:
        gid = c.get(f"/runs/{runs[-1]}").json()["graph_id"]
        wait_for(lambda: {r["id"] for r in c.get("/runs", params={"graph_id": gid}).json()} == set(runs[2:]), 30,
                 what="the sweep deleted the two oldest runs")
        assert c.get(f"/runs/{other}").status_code == 200  # another graph's runs are its own count
        rows = c.get("/audit", params={"action": "runs.gc"}).json()
    assert rows and rows[-1]["actor"] == "sweeper" and rows[-1]["data"]["graphs"][gid] >= 1
    assert sum(r["data"]["graphs"].get(gid, 0) for r in rows) == 2


def test_keep_days_keeps_recent_runs_beyond_the_count(swept):
    from nebhx.engine import retention
    from nebhx.store.models import GraphRow, utcnow
    doc = graph("by-age", [("e", "test.echo", {"text": "x"})])
    with swept.client() as c:
        gid = c.post("/graphs", json=doc).json()["id"]
        assert c.put(f"/graphs/{gid}/retention", json={"keep_days": 2}).json() == {"keep_runs": None, "keep_days": 2}
        assert c.get(f"/graphs/{gid}").json()["retention"] == {"keep_days": 2}
    runs = [swept.run(doc)["id"] for _ in range(4)]
    with swept.client() as c:
        assert {r["id"] for r in c.get("/runs", params={"graph_id": gid}).json()} == set(runs)
    with store_of(swept) as s:
        row = s.get(GraphRow, gid)
        assert retention.expired(s, row, utcnow()) == []  # all four are younger than two days
        assert retention.expired(s, row, utcnow() + timedelta(days=3)) == runs  # none is, then


def test_a_collected_run_leaves_no_row_behind(swept):
    """What a run wrote (its row, its nodes and fan-out items with their logs, its events) goes
    with it; only the audit keeps what happened (kept by policy, with no retention of its own)."""
    from sqlalchemy import func, select

    from nebhx.store.models import EventRow, NodeRow, RunRow, ServiceLockRow
    doc = graph("no-trace", [("fan", "test.echo", {"text": ["a", "b", "c"]}, {"for_each": "text"}),
                             ("after", "test.noop")], [{"from": {"node": "fan"}, "to": {"node": "after"}}])
    runs = [swept.run(doc)["id"] for _ in range(3)]
    with swept.client() as c:
        gid = c.get(f"/runs/{runs[-1]}").json()["graph_id"]
        wait_for(lambda: {r["id"] for r in c.get("/runs", params={"graph_id": gid}).json()} == set(runs[1:]), 30,
                 what="the sweep deleted the oldest run")
    with store_of(swept) as s:
        def rows(model, run_id):
            return s.scalar(select(func.count()).select_from(model).where(model.run_id == run_id))
        gone, kept = runs[0], runs[-1]
        assert s.scalar(select(func.count()).select_from(RunRow).where(RunRow.id == gone)) == 0
        assert [rows(m, gone) for m in (NodeRow, EventRow, ServiceLockRow)] == [0, 0, 0]
        assert rows(NodeRow, kept) == 5  # fan, its three items, after
        assert rows(EventRow, kept) > 0
