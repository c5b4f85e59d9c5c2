"""Composite bricks: a stored graph revision used as one node, ``composite:<graph id>@<revision>``.

The graph's ``inputs`` are the brick's Inputs (types, required, defaults as declared) and its
``outputs`` its Outputs, typed by the inner port they read. A node is pinned to a revision; a
reference without one (``composite:<graph id>``, as the palette offers it) is pinned to the
latest revision when the graph is saved. Revisions never change, so what is read here is cached.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

from pydantic import Field, create_model
from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.bricks.base import Ports
from nebhx.bricks.types import Address, HostRef, Secret, Url, VolumeUrl
from nebhx.graph_model import Graph
from nebhx.limits import REVISION_MAX

PREFIX = "composite:"
SEP = ":"  # an inner node's id in a run: <composite node>:<inner node> ("[i]" is fan-out's)
MAX_NESTING = 16
MAX_INNER_ID = 148  # the store keeps 160 characters per node id: room for a fan-out's "[index]"
_REF = re.compile(r"^composite:(?P<gid>[^@\s]{1,64})(?:@(?P<rev>[0-9]{1,10}))?$")
_PY: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool,
                       "object": dict[str, Any], "Url": Url, "VolumeUrl": VolumeUrl, "Address": Address,
                       "HostRef": HostRef, "Secret": Secret}


def is_composite(brick: str) -> bool:
    return brick.startswith(PREFIX)


def parse_ref(brick: str) -> tuple[str, int | None] | None:
    """``composite:web-1a2b@3`` -> ("web-1a2b", 3); without ``@`` the revision is None."""
    m = _REF.match(brick)
    if m is None or (m["rev"] and not 1 <= int(m["rev"]) <= REVISION_MAX):  # a 32-bit column
        return None
    return m["gid"], int(m["rev"]) if m["rev"] else None


def ref(gid: str, rev: int) -> str:
    return f"{PREFIX}{gid}@{rev}"


_graphs: OrderedDict[tuple[str, str, int], Graph] = OrderedDict()


class Library:
    """Stored revisions as composites see them: an export's ``includes`` first, then the store
    (through ``session``, else a short session of its own)."""

    def __init__(self, session: Session | None = None, includes: dict[str, Any] | None = None):
        self.session, self.includes = session, includes or {}

    def _read(self, fn):
        if self.session is not None:
            return fn(self.session)
        from nebhx.store.db import session_scope
        with session_scope() as s:
            return fn(s)

    def _url(self) -> str:
        from nebhx.settings import get_settings
        bind = self.session.get_bind() if self.session is not None else None
        return str(bind.engine.url) if bind is not None else get_settings().db_url

    def latest(self, gid: str) -> int | None:
        from nebhx.store.models import GraphRow
        found = self._read(lambda s: s.scalar(select(GraphRow.latest_revision).where(GraphRow.id == gid)))
        included = [int(k.rpartition("@")[2]) for k in self.includes if k.rpartition("@")[0] == gid]
        return found if found is not None else max(included, default=None)

    def graph(self, gid: str, rev: int) -> Graph | None:
        """The revision's graph, or None when it is not stored (nor included)."""
        if f"{gid}@{rev}" in self.includes:
            return Graph.model_validate(self.includes[f"{gid}@{rev}"])
        key = (self._url(), gid, rev)
        if key not in _graphs:
            from nebhx.store.models import RevisionRow
            doc = self._read(lambda s: (row := s.get(RevisionRow, (gid, rev))) and row.doc)
            if doc is None:
                return None
            _graphs[key] = Graph.model_validate(doc)
            if len(_graphs) > 256:
                _graphs.popitem(last=False)
        _graphs.move_to_end(key)
        return _graphs[key]

    def doc(self, gid: str, rev: int) -> dict[str, Any] | None:
        """The revision's document exactly as saved (or included)."""
        if f"{gid}@{rev}" in self.includes:
            return self.includes[f"{gid}@{rev}"]
        from nebhx.store.models import RevisionRow
        return self._read(lambda s: (row := s.get(RevisionRow, (gid, rev))) and row.doc)

    def lookup(self, brick: str) -> tuple[str, int, Graph] | str:
        """The graph a node's brick names, or why there is none."""
        parsed = parse_ref(brick)
        if parsed is None:
            return f"{brick!r} is not a composite reference (composite:<graph id>@<revision>)"
        gid, rev = parsed
        rev = rev if rev is not None else self.latest(gid)
        graph = self.graph(gid, rev) if rev is not None else None
        if graph is None or rev is None:
            return f"no graph {gid!r}" if self.latest(gid) is None else f"graph {gid!r} has no revision {rev}"
        return gid, rev, graph


def _annotation(port_type: str) -> Any:
    if port_type.endswith("[]"):
        return list[_annotation(port_type[:-2])]  # type: ignore[misc]
    return _PY.get(port_type, Any)


def _ports_model(name: str, ports: list[tuple[str, str, bool, Any, str]]) -> type[Ports]:
    """A pydantic model like a brick's Inputs/Outputs: (name, type, required, default, description)."""
    fields: dict[str, Any] = {}
    for i, (port, ptype, required, default, description) in enumerate(ports):
        ann = _annotation(ptype)
        if required:
            fields[f"f{i}"] = (ann, Field(..., alias=port, title=port, description=description))
        elif ptype == "Secret" or default is None:  # a Secret default is a stored secret: not shown
            fields[f"f{i}"] = (ann | None, Field(None, alias=port, title=port, description=description))
        else:
            fields[f"f{i}"] = (ann, Field(default, alias=port, title=port, description=description))
    return create_model(name, __base__=Ports, **fields)


def _output_type(lib: Library, registry, graph: Graph, port_ref, depth: int) -> str:
    node = next((n for n in graph.nodes if n.id == port_ref.node), None)
    if node is None:
        return "any"
    spec = registry.specs.get(node.brick)
    if spec is None and is_composite(node.brick) and depth < MAX_NESTING:
        found = lib.lookup(node.brick)
        spec = spec_of(lib, registry, *found, depth=depth + 1) if isinstance(found, tuple) else None
    ptype = next((p["type"] for p in (spec or {}).get("outputs", []) if p["name"] == port_ref.port), "any")
    return ptype + "[]" if node.for_each else ptype


_specs: OrderedDict[tuple, dict[str, Any]] = OrderedDict()


def spec_of(lib: Library, registry, gid: str, rev: int, graph: Graph, depth: int = 0) -> dict[str, Any]:
    """The brick spec of ``gid@rev``, shaped like ``bricks.registry.brick_spec``."""
    from nebhx.bricks.registry import ports_of
    key = (lib._url(), gid, rev, id(registry)) if f"{gid}@{rev}" not in lib.includes else None
    if key is not None and key in _specs:
        return _specs[key]
    ins = _ports_model("Inputs", [(i.name, i.type, i.required and i.default is None, i.default, i.description)
                                  for i in graph.inputs])
    outs = _ports_model("Outputs", [(o.name, _output_type(lib, registry, graph, o.from_, depth), True, None, "")
                                    for o in graph.outputs])
    spec = {"id": f"{PREFIX}{gid}", "revision": rev, "ref": ref(gid, rev), "title": graph.name,
            "category": str(graph.meta.get("category") or "composite"),
            "icon": str(graph.meta.get("icon") or "diagram-3"), "docs": graph.description,
            "parent": None, "host_input": None, "source": f"graph {gid} revision {rev}",
            "inputs": ports_of(ins, "in"), "outputs": ports_of(outs, "out"),
            "inputs_schema": ins.model_json_schema(), "outputs_schema": outs.model_json_schema()}
    if key is not None:
        _specs[key] = spec
        if len(_specs) > 512:
            _specs.popitem(last=False)
    return spec


def palette_entries(registry) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The latest revision of every stored user graph as a composite brick (``meta.palette:
    false`` leaves a graph out, nebhx's own graphs are never in), and the graphs that could
    not be offered."""
    from nebhx.settings import get_settings
    from nebhx.store.db import session_scope
    from nebhx.store.models import GraphRow
    url = get_settings().db_url
    if url.startswith("sqlite") and not Path(url.split("///", 1)[1]).exists():
        return [], []  # no store here (the CLI, the editor's fixture): nothing to create for it
    specs, errors = [], []
    try:
        with session_scope(url) as s:
            lib = Library(s)
            for gid, rev in s.execute(select(GraphRow.id, GraphRow.latest_revision).where(
                    GraphRow.system.is_(False)).order_by(GraphRow.name)).all():
                try:
                    graph = lib.graph(gid, rev)
                    if graph is not None and graph.meta.get("palette", True) is not False:
                        specs.append(spec_of(lib, registry, gid, rev, graph))
                except Exception as exc:  # one odd graph must not take the palette down
                    errors.append({"source": f"graph {gid} revision {rev}", "message": f"{type(exc).__name__}: {exc}"})
    except Exception as exc:
        errors.append({"source": "composite bricks", "message": f"could not read the store: {exc}"})
    return specs, errors


def refs_in(doc: Any) -> list[str]:
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    return [n["brick"] for n in (nodes if isinstance(nodes, list) else []) if isinstance(n, dict) and isinstance(n.get("brick"), str)
            and is_composite(n["brick"])]


def with_bricks(doc: dict[str, Any], bricks: dict[str, str]) -> dict[str, Any]:
    """``doc`` with node bricks replaced as ``bricks`` says (the rest unchanged)."""
    if not any(b in bricks for b in refs_in(doc)):
        return doc
    nodes = [{**n, "brick": bricks[n["brick"]]} if isinstance(n, dict) and n.get("brick") in bricks else n
             for n in doc["nodes"]]
    return {**doc, "nodes": nodes}


def pin(session: Session, doc: Any) -> Any:
    """Unpinned references (``composite:<graph id>``) pinned to that graph's latest revision."""
    lib = Library(session)
    pins = {}
    for brick in refs_in(doc):
        parsed = parse_ref(brick)
        if parsed and parsed[1] is None and (latest := lib.latest(parsed[0])) is not None:
            pins[brick] = ref(parsed[0], latest)
    return with_bricks(doc, pins) if pins else doc
