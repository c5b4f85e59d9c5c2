"""Which triggers the graphs declare, without reading every graph's document each time.

A webhook looks its trigger up and the sweep looks for due schedules every second: reading
the latest revision's document of every graph for each would grow with the store. A stored
revision never changes, so the triggers of (store, graph, revision) are kept in the process;
a lookup reads the graphs table only (id, name, latest revision) and the documents of the
revisions it has not seen yet. A graph saved anew has a new latest revision and is read
again; a deleted graph drops out of the graphs table and out of this memo.
"""
from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from nebhx.store.models import GraphRow, RevisionRow

Key = tuple[str, str, int]  # (store URL, graph id, revision)
_lock = threading.Lock()
_seen: dict[Key, tuple[list[dict[str, Any]], list[str]]] = {}


def _triggers_of(doc: dict[str, Any] | None) -> tuple[list[dict[str, Any]], list[str]]:
    doc = doc or {}
    meta = doc.get("meta") if isinstance(doc.get("meta"), dict) else {}
    specs = [s for s in meta.get("triggers") or [] if isinstance(s, dict) and isinstance(s.get("name"), str)]
    return specs, [i.get("name") for i in doc.get("inputs") or [] if isinstance(i, dict)]


def _load(session: Session, store: str, wanted: list[tuple[str, int]]) -> dict[Key, tuple]:
    """The revisions the graphs table named, by number: joined on ``latest_revision`` again, a
    save committed between the two reads (PostgreSQL reads each statement afresh) would give
    a revision the caller does not look for, and the graph would seem to declare nothing."""
    query = (select(RevisionRow.graph_id, RevisionRow.number, RevisionRow.doc)
             .where(tuple_(RevisionRow.graph_id, RevisionRow.number).in_(wanted)))
    return {(store, g, n): _triggers_of(doc) for g, n, doc in session.execute(query)}


def declared(session: Session) -> list[dict[str, Any]]:
    """Every trigger of every graph's latest revision, with its graph and the graph's inputs."""
    store = str(session.get_bind().url)
    graphs = session.execute(select(GraphRow.id, GraphRow.name, GraphRow.latest_revision)
                             .order_by(GraphRow.id)).all()
    with _lock:
        unseen = [(g, r) for g, _, r in graphs if (store, g, r) not in _seen]
    loaded = _load(session, store, unseen) if unseen else {}
    wanted = {(store, g, r) for g, _, r in graphs}
    with _lock:
        _seen.update(loaded)
        for key in [k for k in _seen if k[0] == store and k not in wanted]:
            del _seen[key]
        known = {k: _seen[k] for k in wanted if k in _seen}
    found = []
    for graph_id, graph_name, revision in graphs:
        specs, inputs = known.get((store, graph_id, revision), ([], []))
        found += [{**spec, "graph_id": graph_id, "graph_name": graph_name, "input_names": inputs}
                  for spec in specs]
    return found
