"""What changed between two revisions of a graph: nodes added, removed and changed (brick,
params, execution settings, label), wires, graph inputs and outputs.

Secrets appear by reference only: a saved revision holds ``{"$secret": name}`` where a secret
goes (a Secret input's plain default is sealed on save), and a plain value met where a Secret
input's default belongs is shown masked all the same. Canvas positions are reported apart
(``moved``): moving a node changes nothing a run does.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.graphs.schemas import GraphDiff
from nebhx.graphs.service import NotFound, get_revision
from nebhx.sealing.masking import MASK
from nebhx.store.models import GraphRow, RunRow

# A node's fields a run depends on besides its brick and params (nebhx.graph_model.Node).
SETTINGS = ("trigger", "retries", "timeout_s", "for_each", "batch", "max_parallel", "pause_s",
            "max_failures", "label")
_DEFAULTS = {"trigger": "all_success", "retries": 0}


def _setting(node: dict[str, Any], key: str) -> Any:
    return node.get(key, _DEFAULTS.get(key))


def _change(field: str, before: Any, after: Any) -> dict[str, Any]:
    return {"field": field, "before": before, "after": after}


def node_changes(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Field by field: ``brick``, ``params.<name>``, each execution setting."""
    out = [_change("brick", a.get("brick"), b.get("brick"))] if a.get("brick") != b.get("brick") else []
    pa, pb = a.get("params") or {}, b.get("params") or {}
    for name in sorted(set(pa) | set(pb)):
        if pa.get(name) != pb.get(name) or (name in pa) != (name in pb):
            out.append(_change(f"params.{name}", pa.get(name), pb.get(name)))
    out += [_change(k, _setting(a, k), _setting(b, k)) for k in SETTINGS if _setting(a, k) != _setting(b, k)]
    return out


def _edge_key(e: dict[str, Any]) -> str:
    f, t = e.get("from") or {}, e.get("to") or {}
    side = lambda s: f"{s.get('node')}.{s['port']}" if s.get("port") else f"{s.get('node')}"  # noqa: E731
    return f"{side(f)} -> {side(t)}"


def _masked_input(i: dict[str, Any]) -> dict[str, Any]:
    default = i.get("default")
    if i.get("type") == "Secret" and default is not None and not (isinstance(default, dict) and "$secret" in default):
        return {**i, "default": MASK}
    return i


def _named(items: list[dict[str, Any]], key: str = "name") -> dict[str, dict[str, Any]]:
    return {i[key]: i for i in items if isinstance(i, dict) and key in i}


def _keyed_diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {"added": sorted(set(b) - set(a)), "removed": sorted(set(a) - set(b)),
            "changed": [{"name": k, "before": a[k], "after": b[k]} for k in sorted(set(a) & set(b)) if a[k] != b[k]]}


def diff_docs(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The differences from document ``a`` to document ``b`` (both as saved)."""
    na, nb = _named(a.get("nodes") or [], "id"), _named(b.get("nodes") or [], "id")
    changed = [{"id": n, "brick": nb[n].get("brick"), "changes": c}
               for n in sorted(set(na) & set(nb)) if (c := node_changes(na[n], nb[n]))]
    ea = {_edge_key(e) for e in a.get("edges") or []}
    eb = {_edge_key(e) for e in b.get("edges") or []}
    ia = {k: _masked_input(v) for k, v in _named(a.get("inputs") or []).items()}
    ib = {k: _masked_input(v) for k, v in _named(b.get("inputs") or []).items()}
    out = {
        "nodes": {"added": [{"id": n, "brick": nb[n].get("brick")} for n in sorted(set(nb) - set(na))],
                  "removed": [{"id": n, "brick": na[n].get("brick")} for n in sorted(set(na) - set(nb))],
                  "changed": changed,
                  "moved": sorted(n for n in set(na) & set(nb) if na[n].get("position") != nb[n].get("position"))},
        "edges": {"added": sorted(eb - ea), "removed": sorted(ea - eb)},
        "inputs": _keyed_diff(ia, ib),
        "outputs": _keyed_diff(_named(a.get("outputs") or []), _named(b.get("outputs") or [])),
        "name": None if a.get("name") == b.get("name") else {"before": a.get("name"), "after": b.get("name")},
    }
    out["same"] = not (any(out["nodes"][k] for k in ("added", "removed", "changed")) or any(out["edges"].values())
                       or any(v for d in (out["inputs"], out["outputs"]) for v in d.values()) or out["name"])
    return out


def diff_revisions(session: Session, *, graph_id: str, before: int | None = None,
                   after: int | None = None) -> GraphDiff:
    """``after`` defaults to the latest revision, ``before`` to the one before ``after``."""
    row = session.get(GraphRow, graph_id)
    if row is None:
        raise NotFound(f"no graph {graph_id!r}")
    after = row.latest_revision if after is None else after
    before = max(after - 1, 1) if before is None else before
    docs = [get_revision(session, graph_id=graph_id, number=n) for n in (before, after)]
    return GraphDiff.model_validate({"graph": graph_id, "from": before, "to": after, **diff_docs(*docs)})


def previous_run(session: Session, run: RunRow) -> RunRow | None:
    """The run of the same graph created just before ``run``."""
    return session.scalars(select(RunRow).where(RunRow.graph_id == run.graph_id, RunRow.created_at < run.created_at)
                           .order_by(RunRow.created_at.desc()).limit(1)).first()


def diff_run(session: Session, *, run_id: str) -> GraphDiff:
    """What ``run_id``'s revision changed against the previous run's of the same graph (against the
    revision before it when it is the graph's first run)."""
    run = session.get(RunRow, run_id)
    if run is None:
        raise NotFound(f"no run {run_id!r}")
    prev = previous_run(session, run)
    before = prev.revision if prev is not None else max(run.revision - 1, 1)
    out = diff_revisions(session, graph_id=run.graph_id, before=before, after=run.revision)
    return out.model_copy(update={"run": run.id, "previous_run": prev.id if prev is not None else None})
