"""Deleting a stored graph: refused while something still uses it, else it goes whole.

In use means: its latest revision declares a schedule or webhook trigger (the trigger would
start a graph that is gone: save a revision without it first), another graph's latest revision
uses it as a composite, or one of its runs is still going. Deleted with it: its revisions, its
runs (nodes, logs, events), its schedule progress and the secrets its Secret inputs' defaults
were sealed into (``graph.<id>.<input>``; nothing else may use those).
"""
from __future__ import annotations


from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nebhx.auth.audit import Door, record_change
from nebhx.engine.retention import delete_runs
from nebhx.errors import InUse, NotFound
from nebhx.engine.library import parse_ref
from nebhx.graphs.schemas import GraphDeleted
from nebhx.statuses import RunStatus
from nebhx.store.models import GraphRow, RevisionRow, RunRow, SecretRow, TriggerScheduleRow
from nebhx.store.queries import latest_docs


def users_of(session: Session, graph_id: str) -> list[str]:
    """Why ``graph_id`` cannot go now, one reason each; empty when nothing uses it."""
    why = []
    for gid, doc in latest_docs(session):
        if gid == graph_id:
            meta = doc.get("meta") if isinstance(doc.get("meta"), dict) else {}
            why += [f"its trigger {t.get('name')!r} ({t.get('kind') or 'webhook'}) starts it"
                    for t in meta.get("triggers") or [] if isinstance(t, dict)]
            continue
        nodes = [n for n in doc.get("nodes") or [] if isinstance(n, dict) and isinstance(n.get("brick"), str)]
        why += [f"graph {gid} uses it as a composite (node {n.get('id')})" for n in nodes
                if (ref := parse_ref(n["brick"])) is not None and ref[0] == graph_id]
    running = session.scalars(select(RunRow.id).where(RunRow.graph_id == graph_id,
                                                      RunRow.status == RunStatus.RUNNING)).all()
    why += [f"its run {r} is still running" for r in running]
    return why


def delete_graph(session: Session, *, graph_id: str, door: Door | None = None) -> GraphDeleted:
    row = session.get(GraphRow, graph_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no graph {graph_id!r}")
    if why := users_of(session, graph_id):
        raise InUse(f"graph {graph_id} is in use: {'; '.join(why)}")
    runs = list(session.scalars(select(RunRow.id).where(RunRow.graph_id == graph_id)))
    delete_runs(session, runs)
    session.execute(delete(TriggerScheduleRow).where(TriggerScheduleRow.graph_id == graph_id))
    sealed = session.execute(delete(SecretRow).where(SecretRow.name.startswith(f"graph.{graph_id}.", autoescape=True)))
    session.execute(delete(RevisionRow).where(RevisionRow.graph_id == graph_id))
    session.delete(row)
    out = GraphDeleted(graph=graph_id, name=row.name, revisions=row.latest_revision, runs=len(runs),
                       secrets=sealed.rowcount or 0)
    record_change(session, door, action="graphs.delete_graph", target=f"/api/graphs/{graph_id}",
                  data=out.model_dump())
    return out
