"""Exports carry their composites: ``includes`` maps each ``<graph id>@<revision>`` a graph uses,
directly or through nesting, to that revision's document.

Importing such a document stores each included graph first (or reuses one already stored:
the same id and revision with the same document, or a graph of the same name whose latest
revision is that document), rewrites the references to what was stored, and drops ``includes``:
a stored revision never holds one.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.engine.library import MAX_NESTING, Library, parse_ref, refs_in, with_bricks
from nebhx.graphs.problem import Problem
from nebhx.graphs.validate import GraphInvalid


def with_includes(session: Session, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with every composite it uses in ``includes`` (unchanged when it uses none)."""
    lib, includes = Library(session), {}
    todo = [(b, 0) for b in refs_in(doc)]
    while todo:
        brick, depth = todo.pop()
        parsed = parse_ref(brick)
        if parsed is None or parsed[1] is None or depth > MAX_NESTING:
            continue
        key = f"{parsed[0]}@{parsed[1]}"
        if key not in includes and (inner := lib.doc(*parsed)) is not None:
            includes[key] = inner
            todo += [(b, depth + 1) for b in refs_in(inner)]
    return {**doc, "includes": dict(sorted(includes.items()))} if includes else doc


def import_includes(session: Session, doc: Any, create) -> Any:
    """``doc`` without ``includes``, its references pointing at graphs stored here (``create``
    stores a document as a new graph: ``graphs.service.create_graph``)."""
    if not isinstance(doc, dict) or "includes" not in doc:
        return doc
    includes = doc["includes"]
    rest = {k: v for k, v in doc.items() if k != "includes"}
    if not isinstance(includes, dict) or not includes:
        return rest
    placed: dict[str, str] = {}
    for key in includes:
        _place(session, includes, key, placed, (), create)
    return with_bricks(rest, {"composite:" + k: "composite:" + v for k, v in placed.items()})


def _place(session: Session, includes: dict, key: str, placed: dict[str, str], trail: tuple, create) -> str:
    if key in placed:
        return placed[key]
    parsed = parse_ref("composite:" + key)
    if parsed is None or parsed[1] is None or not isinstance(includes[key], dict) or key in trail \
            or len(trail) > MAX_NESTING:
        raise GraphInvalid([Problem("includes", f"includes/{key}: expected '<graph id>@<revision>' mapped to a "
                                    "graph document, used by no cycle", path=f"/includes/{key}")])
    inner = {k: v for k, v in includes[key].items() if k != "includes"}
    deps = {}
    for brick in refs_in(inner):
        parsed = parse_ref(brick)
        dep = f"{parsed[0]}@{parsed[1]}" if parsed and parsed[1] is not None else None
        if dep in includes:
            deps[brick] = "composite:" + _place(session, includes, dep, placed, (*trail, key), create)
    inner = with_bricks(inner, deps)
    placed[key] = _stored_as(session, *parsed, inner) or _create(session, key, inner, create)
    return placed[key]


def _stored_as(session: Session, gid: str, rev: int, doc: dict[str, Any]) -> str | None:
    """``id@revision`` of a stored revision holding exactly ``doc``, if there is one."""
    from nebhx.store.models import GraphRow, RevisionRow
    row = session.get(RevisionRow, (gid, rev))
    if row is not None and row.doc == doc:
        return f"{gid}@{rev}"
    if not isinstance(doc.get("name"), str):
        return None  # not a graph: creating it says why
    # The graph of that name (as graphs.service.find_graph_by_name), read here: the service
    # imports this module.
    same = session.execute(select(GraphRow).where(GraphRow.name == doc["name"])
                           .order_by(GraphRow.created_at)).scalars().first()
    latest = session.get(RevisionRow, (same.id, same.latest_revision)) if same is not None else None
    if latest is not None and latest.doc == doc:
        return f"{same.id}@{same.latest_revision}"
    return None


def _create(session: Session, key: str, doc: dict[str, Any], create) -> str:
    try:
        saved = create(session, doc=doc)
    except GraphInvalid as exc:
        raise GraphInvalid([Problem(p.code, f"includes/{key}: {p.message}", p.node, p.port,
                                    f"/includes/{key}{p.path}") for p in exc.problems]) from exc
    session.flush()
    return f"{saved.id}@{saved.revision}"


__all__ = ["import_includes", "with_includes"]
