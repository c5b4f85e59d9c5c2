"""Volumes and snapshots view, and deleting or pruning snapshots by hand.

The control plane learns a host's volumes from its agent: each heartbeat may carry the
report of ``nebhx.runtime.storage.report`` (made again when a volume changed on the host,
else every minute), kept in the hosts table's ``volumes``. Deleting or pruning reaches the
host the way every change does: an ordinary run of a one-node graph (``storage.delete_snapshot``
or ``storage.prune`` on that host) that its agent claims, stored once under its name.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.graphs.service import NotFound, ensure_graph
from nebhx.hosts.service import host_state
from nebhx.runs import service as runs
from nebhx.store.models import HostRow
from nebhx.volumes.schemas import VolumeRow

DELETE_GRAPH = "nebhx-delete-snapshot"
PRUNE_GRAPH = "nebhx-prune-snapshots"


def list_volumes(session: Session, *, host: str | None = None, volume: str | None = None) -> list[VolumeRow]:
    """One row per volume per host (``volume``: its name or URL), sorted by host and name."""
    query = select(HostRow).order_by(HostRow.name)
    if host:
        query = query.where(HostRow.name == host)
    rows = []
    for h in session.execute(query).scalars():
        for vol in h.volumes or []:
            if volume and volume not in (vol.get("name"), vol.get("url")):
                continue
            rows.append(VolumeRow(**{**vol, "host": h.name, "host_state": host_state(h), "seen_at": h.last_seen,
                                     "snapshots": vol.get("snapshots") or []}))
    return sorted(rows, key=lambda r: (r.host, r.name or "", r.url or ""))


def _graph(name: str, brick: str, description: str, inputs: dict[str, str], outputs: list[str]) -> dict[str, Any]:
    return {
        "format": "nebhx/graph@1", "name": name, "description": description,
        "inputs": [{"name": k, "type": t, "required": k in ("host", "volume_url", "snapshot")}
                   for k, t in inputs.items()],
        "nodes": [{"id": "storage", "brick": brick, "position": {"x": 0, "y": 0},
                   "params": {k: {"$input": k} for k in inputs}}],
        "edges": [],
        "outputs": [{"name": k, "from": {"node": "storage", "port": k}} for k in outputs],
    }


def _start(session: Session, doc: dict[str, Any], inputs: dict[str, Any]) -> str:
    if session.get(HostRow, inputs["host"]) is None:
        raise NotFound(f"no host {inputs['host']!r}: see `nebhx hosts`")
    graph_id, revision = ensure_graph(session, doc=doc)
    run_id, _ = runs.create_run(session, graph_id=graph_id, revision=revision,
                                inputs={k: v for k, v in inputs.items() if v is not None})
    return run_id


def start_delete(session: Session, *, host: str, volume_url: str, snapshot: str) -> str:
    """Start the run that deletes one snapshot on its host; returns its id."""
    doc = _graph(DELETE_GRAPH, "storage.delete_snapshot", "Delete one snapshot of a volume (nebhx volumes delete).",
                 {"host": "HostRef", "volume_url": "VolumeUrl", "snapshot": "string"}, ["deleted", "size"])
    return _start(session, doc, {"host": host, "volume_url": volume_url, "snapshot": snapshot})


def start_prune(session: Session, *, host: str, volume_url: str, keep_last: int | None = None,
                keep_days: float | None = None) -> str:
    """Start the run that prunes a volume's snapshots by a rule (default: the volume's own)."""
    doc = _graph(PRUNE_GRAPH, "storage.prune", "Prune a volume's snapshots by a retention rule (nebhx volumes prune).",
                 {"host": "HostRef", "volume_url": "VolumeUrl", "keep_last": "integer", "keep_days": "number"},
                 ["pruned", "kept"])
    return _start(session, doc, {"host": host, "volume_url": volume_url, "keep_last": keep_last,
                                 "keep_days": keep_days})
