"""What the releases view asks of a host's agent (pin, unpin, a service's log) and the deploy
history read from the stored runs.

The agent does the work on its host (nebhx.agent.host_ops), asked the way a plan asks
it (nebhx.execution.plan.AgentHosts); a host whose agent is not running, or does not answer
within ``ASK_S``, is a Conflict naming the host, never a half-done change. A log's text has
every stored secret's value masked here, whatever the service printed.
"""
from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.errors import Conflict, NotFound
from nebhx.releases.schemas import HistoryEntry, LogRead, PinRead
from nebhx.releases.why import SWITCHES, run_link
from nebhx.sealing import masking
from nebhx.secrets.service import list_secrets, secret_value
from nebhx.statuses import NodeStatus
from nebhx.store.db import session_scope
from nebhx.store.models import HostRow, NodeRow

ASK_S = 10.0
HISTORY = 200  # the newest switches of one service on one host shown


def ask(host: str, batch: dict[str, Any], hosts: Any = None) -> dict[str, Any]:
    """The agent's answer; no transaction stays open while the host answers."""
    with session_scope() as s:
        if s.get(HostRow, host) is None:
            raise NotFound(f"no host {host!r}: see `nebhx hosts`")
    from nebhx.execution.plan import AgentHosts
    answer = (hosts or AgentHosts()).ask({host: batch}, ASK_S)[host]
    if answer.get("error"):
        raise Conflict(answer["error"])
    return answer


def set_pinned(*, host: str, service: str, release: str, pinned: bool) -> PinRead:
    """Pin (retention never removes it) or unpin a release staged on ``host``."""
    return PinRead.model_validate(ask(host, {"op": "pin" if pinned else "unpin", "service": service,
                                             "release": release}))


def read_log(*, host: str, service: str, instance: str = "",
             offsets: dict[str, int] | None = None, max_bytes: int | None = None) -> LogRead:
    """The tail of a service's stdout and stderr from ``offsets`` (None: the last bytes), secrets masked."""
    answer = ask(host, {"op": "log", "service": service, "instance": instance,
                                 "offsets": offsets or {}, "max_bytes": max_bytes})
    with session_scope() as s:
        values = [v for v in (secret_value(s, name=n.name) for n in list_secrets(s)) if v]
    for stream in (answer.get("streams") or {}).values():
        stream["text"] = masking.mask_values(stream.get("text") or "", values)
    return LogRead.model_validate({"host": host, "service": service, "instance": instance or None, **answer})


def _release_of(ins: dict[str, Any], outs: dict[str, Any]) -> str | None:
    """The release a switch put in place; service.run names only its folder (releases/<id>)."""
    found = outs.get("release_id") or ins.get("release_id")
    path = PurePosixPath(ins.get("release_path") or "")
    return found or (path.name if path.parent.name == "releases" else None)


def history(session: Session, *, host: str, service: str, instance: str = "") -> list[HistoryEntry]:
    """Each stored switch of this instance on ``host``, newest first: when, from which release
    to which, and the run (graph, revision, who started it) that did it."""
    if session.get(HostRow, host) is None:
        raise NotFound(f"no host {host!r}: see `nebhx hosts`")
    nodes = session.scalars(select(NodeRow).where(
        NodeRow.host == host, NodeRow.brick.in_(SWITCHES),
        NodeRow.status == NodeStatus.SUCCEEDED).order_by(NodeRow.finished_at.desc()).limit(HISTORY * 5))
    out = []
    for n in nodes:
        ins, outs = n.inputs or {}, n.outputs or {}
        if (ins.get("service") != service or (ins.get("instance") or "") != (instance or "")
                or outs.get("changed") is False):
            continue  # another instance, or a run that found it already as asked
        out.append(HistoryEntry(at=n.finished_at, to=_release_of(ins, outs), from_=outs.get("previous_release"),
                                brick=n.brick, run=run_link(session, node=n)))
        if len(out) >= HISTORY:
            break
    for newer, older in zip(out, out[1:]):
        newer.from_ = newer.from_ or older.to  # service.run says not what ran before
    return out
