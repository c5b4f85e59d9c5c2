"""The etcd trigger's watch against a real etcd and a real store (SQLite and PostgreSQL):
two sweepers watching the same trigger start one run per change; a change while the trigger's
run is active waits and starts one run (the newest revision) when it ends; changes made while
no watch ran are caught up once when a watch starts again."""
from __future__ import annotations

import uuid

import pytest
from etcd_support import EtcdServer
from sqlalchemy import select, update

from nebhx.runtime.etcd import Etcd
from nebhx.graphs.service import ensure_graph
from nebhx.statuses import RunStatus
from nebhx.store.db import session_scope
from nebhx.store.models import RunRow
from nebhx.triggers.etcd import Watch
from support import wait_for


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    server = EtcdServer(tmp_path_factory.mktemp("etcd"))
    yield server
    server.stop()


def runs(url: str) -> list[RunRow]:
    with session_scope(url) as s:
        rows = s.execute(select(RunRow).order_by(RunRow.created_at)).scalars().all()
        return [r for r in rows if (r.trigger or {}).get("kind") == "etcd"]


def finish_all(url: str) -> None:
    with session_scope(url) as s:
        s.execute(update(RunRow).values(status=RunStatus.SUCCEEDED))


def test_one_run_per_change_waits_for_the_active_run_and_catches_up(etcd, db_url):
    prefix = f"/t-{uuid.uuid4().hex[:8]}/"
    trigger = {"name": "cfg", "kind": "etcd", "prefix": prefix, "endpoint": etcd.url}
    doc = {"format": "nebhx/graph@1", "name": "etcd-watched", "edges": [], "meta": {"triggers": [trigger]},
           "nodes": [{"id": "t", "brick": "core.template", "params": {"template": "x"}}]}
    with session_scope(db_url) as s:
        graph_id, _ = ensure_graph(s, doc=doc)
    spec = {**trigger, "graph_id": graph_id}
    sessions = lambda: session_scope(db_url)  # noqa: E731
    kv = Etcd(etcd.url)
    watches = [Watch(spec, sessions), Watch(spec, sessions)]  # two sweeping processes
    for w in watches:
        w.start()
    try:
        wait_for(lambda: all(w.pending is None and w.is_alive() for w in watches) and _seen(db_url), 20, 0.05,
                 what="both watches started")
        rev = kv.put(prefix + "web", '{"values": {"port": 1}}')
        wait_for(lambda: len(runs(db_url)) == 1, 20, 0.05, what="one run")
        (run,) = runs(db_url)
        assert run.trigger["revision"] == rev and run.trigger["keys"] == [prefix + "web"]

        # The run is still active (no worker here): the next changes wait, then start one run.
        kv.put(prefix + "web", '{"values": {"port": 2}}')
        last = kv.put(prefix + "db", '{"values": {"port": 3}}')
        wait_for(lambda: any(w.pending and w.pending[0] == last for w in watches), 20, 0.05, what="pending")
        assert len(runs(db_url)) == 1
        finish_all(db_url)
        for w in watches:
            w.flush_pending()
        after = runs(db_url)
        assert len(after) == 2 and after[1].trigger["revision"] == last
        assert set(after[1].trigger["keys"]) >= {prefix + "db"}
    finally:
        for w in watches:
            w.stop()
    finish_all(db_url)

    # Changes while nothing watched: one run when a watch starts again.
    kv.put(prefix + "web", '{"values": {"port": 4}}')
    newest = kv.put(prefix + "web", '{"values": {"port": 5}}')
    w = Watch(spec, sessions)
    w.start()
    try:
        wait_for(lambda: len(runs(db_url)) == 3, 20, 0.05, what="the caught-up run")
        assert runs(db_url)[2].trigger["revision"] == newest
    finally:
        w.stop()


def _seen(url: str) -> bool:
    from nebhx.store.models import TriggerScheduleRow
    with session_scope(url) as s:
        return s.get(TriggerScheduleRow, "cfg") is not None
