"""The trigger lookup (webhooks, the schedule sweep) reads only the graphs table once it has
seen a revision: a new revision's triggers count at once, a deleted graph's are gone, and
two stores in one process never mix."""
from __future__ import annotations

from sqlalchemy import event

from nebhx.graphs.service import ensure_graph
from nebhx.store.db import get_engine, session_scope
from nebhx.store.models import GraphRow
from nebhx.triggers.service import declared, find_trigger
from support import create_pg_database


def doc(name: str, trigger: str) -> dict:
    return {"format": "nebhx/graph@1", "name": name, "nodes": [], "edges": [],
            "meta": {"triggers": [{"name": trigger, "secret": "s", "repository": "/srv/x.git"}]}}


def statements(url: str, call) -> list[str]:
    seen: list[str] = []
    listen = lambda *a: seen.append(a[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(get_engine(url), "before_cursor_execute", listen)
    try:
        with session_scope(url) as s:
            call(s)
    finally:
        event.remove(get_engine(url), "before_cursor_execute", listen)
    return seen


def test_a_lookup_reads_new_revisions_only_and_follows_saves_and_deletes(db_url, tmp_path):
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with session_scope(db_url) as s:
        first, _ = ensure_graph(s, doc=doc("app", "on-push"))
        ensure_graph(s, doc=doc("lib", "lib-push"))
    with session_scope(other) as s:
        ensure_graph(s, doc=doc("elsewhere", "other-push"))
    with session_scope(db_url) as s:
        assert sorted(t["name"] for t in declared(s)) == ["lib-push", "on-push"]
    again = statements(db_url, lambda s: find_trigger(s, name="on-push"))
    reads = [q for q in again if q.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1 and "graph_revisions" not in reads[0]  # the graphs table only
    with session_scope(db_url) as s:
        ensure_graph(s, doc=doc("app", "on-push-v2"))  # a new revision of graph app
        names = sorted(t["name"] for t in declared(s))
        assert names == ["lib-push", "on-push-v2"]
        s.delete(s.get(GraphRow, first))
    with session_scope(db_url) as s:
        assert [t["name"] for t in declared(s)] == ["lib-push"]
    with session_scope(other) as s:
        assert [t["name"] for t in declared(s)] == ["other-push"]


def test_a_save_between_the_two_reads_does_not_hide_the_graphs_triggers(monkeypatch):
    """A revision saved after the graphs table was read, before the documents are: the lookup
    still gives the triggers of the revision it read (the next one gives the new revision's).
    PostgreSQL only: on SQLite the lookup's BEGIN IMMEDIATE holds the store, no save comes between."""
    db_url, drop = create_pg_database()
    try:
        _save_between_reads(db_url, monkeypatch)
    finally:
        drop()


def _save_between_reads(db_url: str, monkeypatch) -> None:
    from nebhx.triggers import index
    with session_scope(db_url) as s:
        ensure_graph(s, doc=doc("app", "on-push"))
    load = index._load

    def save_then_load(*args):
        with session_scope(db_url) as other:
            ensure_graph(other, doc=doc("app", "on-push-v2"))
        return load(*args)
    monkeypatch.setattr(index, "_load", save_then_load)
    with session_scope(db_url) as s:
        assert [t["name"] for t in declared(s)] == ["on-push"]
    monkeypatch.setattr(index, "_load", load)
    with session_scope(db_url) as s:
        assert [t["name"] for t in declared(s)] == ["on-push-v2"]
