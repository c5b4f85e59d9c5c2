"""Graphs: validate, save as a new revision (never overwrite), list, export.

A Secret input's plain default never reaches a revision: it is stored as the secret
``graph.<graph id>.<input>`` and the saved document keeps ``{"$secret": that name}``.
"""
from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.bricks.registry import get_registry
from nebhx.graphs.bundle import import_includes, with_includes
from nebhx.errors import NotFound as NotFound
from nebhx.engine.library import Library, pin
from nebhx.graph_model import Graph
from nebhx.graphs.schemas import GraphRead, GraphSaved, GraphSummary, Problem, Problems, Retention, RevisionInfo
from nebhx.graphs.validate import GraphInvalid, validate_graph
from nebhx.secrets.service import put_secret, secret_value
from nebhx.store.models import GraphRow, RevisionRow, utcnow


def validate_doc(*, doc: Any, session: Session | None = None, graph_id: str | None = None) -> Graph:
    """``session``: read composites in this transaction (SQLite allows one writer at a time)."""
    library = Library(session, doc.get("includes") if isinstance(doc, dict) else None)
    graph, problems = validate_graph(doc, get_registry(), library=library, graph_id=graph_id)
    if problems:
        raise GraphInvalid(problems)
    return graph


def prepare(session: Session, doc: Any) -> Any:
    """``doc`` as it is stored: its ``includes`` imported, unpinned composites pinned to the latest."""
    return pin(session, import_includes(session, doc, create_graph))


def problems_of(*, doc: Any) -> Problems:
    _, problems = validate_graph(doc, get_registry())
    return Problems(ok=not problems, problems=[Problem(**p.as_dict()) for p in problems])


def _new_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "graph"
    return f"{slug}-{uuid.uuid4().hex[:6]}"


def default_secret_name(graph_id: str, input_name: str) -> str:
    return f"graph.{graph_id}.{input_name}"


def _is_plain_secret(i: Any) -> bool:
    return (isinstance(i, dict) and isinstance(i.get("name"), str) and i.get("type") == "Secret"
            and isinstance(i.get("default"), str))


def _plain_secret_defaults(doc: dict[str, Any]) -> dict[str, str]:
    inputs = doc.get("inputs")  # ensure_graph compares before validating: expect anything
    return {i["name"]: i["default"] for i in inputs if _is_plain_secret(i)} if isinstance(inputs, list) else {}


def _with_secret_refs(doc: dict[str, Any], graph_id: str) -> dict[str, Any]:
    """``doc`` as it is saved: plain Secret defaults replaced by references."""
    if not _plain_secret_defaults(doc):
        return doc
    inputs = [{**i, "default": {"$secret": default_secret_name(graph_id, i["name"])}}
              if _is_plain_secret(i) else i for i in doc["inputs"]]
    return {**doc, "inputs": inputs}


def _seal_defaults(session: Session, graph_id: str, doc: dict[str, Any]) -> dict[str, Any]:
    for name, value in _plain_secret_defaults(doc).items():
        put_secret(session, name=default_secret_name(graph_id, name), value=value)
    return _with_secret_refs(doc, graph_id)


def _unchanged(session: Session, graph_id: str, latest: dict[str, Any], doc: dict[str, Any]) -> bool:
    """True when saving ``doc`` would store what the latest revision holds, secrets included."""
    if _with_secret_refs(doc, graph_id) != latest:
        return False
    return all(secret_value(session, name=default_secret_name(graph_id, name)) == value
               for name, value in _plain_secret_defaults(doc).items())


def create_graph(session: Session, *, doc: dict[str, Any], system: bool = False) -> GraphSaved:
    doc = prepare(session, doc)
    graph = validate_doc(doc=doc, session=session)
    row = GraphRow(id=_new_id(graph.name), name=graph.name, latest_revision=1, system=system)
    session.add(row)
    session.add(RevisionRow(graph_id=row.id, number=1, doc=_seal_defaults(session, row.id, doc)))
    return GraphSaved(id=row.id, name=row.name, revision=1)


def save_revision(session: Session, *, graph_id: str, doc: dict[str, Any],
                  system: bool = False) -> GraphSaved:
    doc = prepare(session, doc)
    graph = validate_doc(doc=doc, session=session, graph_id=graph_id)
    row = session.get(GraphRow, graph_id, with_for_update=True)
    if row is None or row.system != system:  # nebhx's own graphs change only with nebhx
        raise NotFound(f"no graph {graph_id!r}" if row is None or system else
                       f"graph {graph_id!r} ({row.name}) is nebhx's own: save it under another name")
    row.latest_revision += 1
    row.name, row.updated_at = graph.name, utcnow()
    session.add(RevisionRow(graph_id=graph_id, number=row.latest_revision,
                            doc=_seal_defaults(session, graph_id, doc)))
    return GraphSaved(id=row.id, name=row.name, revision=row.latest_revision)


def list_graphs(session: Session) -> list[GraphSummary]:
    rows = session.execute(select(GraphRow).where(GraphRow.system.is_(False))
                           .order_by(GraphRow.updated_at.desc())).scalars()
    return [GraphSummary(id=r.id, name=r.name, latest_revision=r.latest_revision, updated_at=r.updated_at)
            for r in rows]


def get_graph(session: Session, *, graph_id: str) -> GraphRead:
    row = session.get(GraphRow, graph_id)
    if row is None:
        raise NotFound(f"no graph {graph_id!r}")
    revs = session.execute(select(RevisionRow.number, RevisionRow.created_at).where(
        RevisionRow.graph_id == graph_id).order_by(RevisionRow.number)).all()
    return GraphRead(id=row.id, name=row.name, latest_revision=row.latest_revision, retention=row.retention,
                     revisions=[RevisionInfo(number=n, created_at=at) for n, at in revs])


def set_retention(session: Session, *, graph_id: str, keep_runs: int | None, keep_days: float | None) -> Retention:
    row = session.get(GraphRow, graph_id)
    if row is None:
        raise NotFound(f"no graph {graph_id!r}")
    own = {k: v for k, v in (("keep_runs", keep_runs), ("keep_days", keep_days)) if v is not None}
    row.retention = own or None
    return Retention(**own)


def get_revision(session: Session, *, graph_id: str, number: int | None = None) -> dict[str, Any]:
    """The document exactly as it was saved."""
    if number is None:
        row = session.get(GraphRow, graph_id)
        if row is None:
            raise NotFound(f"no graph {graph_id!r}")
        number = row.latest_revision
    rev = session.get(RevisionRow, (graph_id, number))
    if rev is None:
        raise NotFound(f"graph {graph_id!r} has no revision {number}")
    return rev.doc


def export_revision(session: Session, *, graph_id: str, number: int | None = None) -> dict[str, Any]:
    """The revision as saved, with the composites it uses in ``includes`` (see graphs.bundle)."""
    return with_includes(session, get_revision(session, graph_id=graph_id, number=number))


def find_graph_by_name(session: Session, *, name: str, system: bool = False) -> GraphRow | None:
    """The oldest user graph named ``name`` (with ``system``, nebhx's own graph of that name)."""
    return session.execute(select(GraphRow).where(GraphRow.name == name, GraphRow.system.is_(system))
                           .order_by(GraphRow.created_at)).scalars().first()


def ensure_graph(session: Session, *, doc: dict[str, Any], system: bool = False) -> tuple[str, int]:
    """The graph named like ``doc``: reuse its latest revision when identical, else save a new one.

    Identical once its Secret defaults are sealed: the same file sent again makes no revision.
    ``system``: one of nebhx's own graphs, apart from the users' graphs of the same name.
    """
    doc = prepare(session, doc)
    row = find_graph_by_name(session, name=doc.get("name", ""), system=system) if isinstance(doc, dict) else None
    if row is None:
        saved = create_graph(session, doc=doc, system=system)
        return saved.id, saved.revision
    if _unchanged(session, row.id, get_revision(session, graph_id=row.id), doc):
        return row.id, row.latest_revision
    saved = save_revision(session, graph_id=row.id, doc=doc, system=system)
    return saved.id, saved.revision
