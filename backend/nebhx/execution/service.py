"""The execution API's side on the control plane: a host's agent claims, renews and finishes
its own nodes; every step is checked against the host its token is scoped to."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict
from functools import cache
from typing import Any

from nebhx.artifacts.schemas import ArtifactRead, BrickPackage
from nebhx.auth.tokens import Principal
from nebhx.errors import Forbidden
from nebhx.engine.claims import PLAIN, Claim, DbExecution, Outcome
from nebhx.hosts import service as hosts
from nebhx.sealing.crypto import SEALED
from nebhx.settings import get_settings
from nebhx.store.db import session_scope
from nebhx.store.models import NodeRow


@cache
def _execution(url: str) -> DbExecution:
    return DbExecution(url)


def execution() -> DbExecution:
    return _execution(get_settings().db_url)


# Attempts this process handed out, with their host: renewing and finishing one of them
# needs no second look at the node's row (a restarted API looks again).
_claimed: OrderedDict[tuple[str, str, int], str] = OrderedDict()


def _own_node(principal: Principal, run_id: str, node_id: str, attempt: int | None = None) -> bool:
    """Whether the node exists; Forbidden when it is routed to another host."""
    if attempt is not None and _claimed.get((run_id, node_id, attempt)) == principal.host:
        return True
    with session_scope() as s:
        row = s.get(NodeRow, (run_id, node_id))
    if row is not None and row.host != principal.host:
        raise Forbidden(f"node {node_id} of run {run_id} is not routed to host {principal.host!r}")
    return row is not None


def _host(principal: Principal) -> str:
    if principal.host is None:  # require_host lets only host tokens through
        raise Forbidden("the execution API is for hosts' agents only")
    return principal.host


def _worker(principal: Principal, worker: str | None) -> str | None:
    # Namespaced by host: an agent names only its own processes.
    return f"{principal.host}:{worker}" if worker else None


def worker_alive(*, principal: Principal, worker: str) -> None:
    from nebhx.engine.workers import record_beat
    with session_scope() as s:
        record_beat(s, worker_id=f"{_host(principal)}:{worker}", host=principal.host)


def claim_node(*, principal: Principal, run_id: str, node_id: str, attempt: int,
               worker: str | None = None) -> dict[str, Any] | None:
    """The node's inputs with only its own secrets, or None when the attempt is stale or taken."""
    claim = execution().claim(run_id, node_id, attempt, host=principal.host, expect_host=True,
                              by=_worker(principal, worker))
    if claim is None:
        _own_node(principal, run_id, node_id)  # say so when it is another host's node
        return None
    _claimed[(run_id, node_id, attempt)] = _host(principal)
    if len(_claimed) > 4096:
        _claimed.popitem(last=False)
    return {**asdict(claim), "brick_packages": _brick_generation()}


def _brick_generation() -> str:
    from nebhx.artifacts import brickpkgs
    return brickpkgs.current_generation()


def renew_lease(*, principal: Principal, run_id: str, node_id: str, attempt: int, log: str) -> bool:
    if not _own_node(principal, run_id, node_id, attempt):
        return False
    return execution().renew(Claim(run_id, node_id, attempt, brick=""), log)


def take_lock(*, principal: Principal, run_id: str, node_id: str, attempt: int, key: dict) -> dict | None:
    """A service lock for a node of this host: only on this host's services, for a node it runs."""
    if key["host"] != _host(principal):
        raise Forbidden(f"host {principal.host!r} may lock only its own services, not host {key['host']!r}'s")
    if not _own_node(principal, run_id, node_id, attempt):
        raise Forbidden(f"no node {node_id} of run {run_id} to lock for")
    return execution().lock(Claim(run_id, node_id, attempt, brick=""), key)


def finish_node(*, principal: Principal, run_id: str, node_id: str, attempt: int, outcome: dict) -> bool:
    """Record an attempt's outcome; False when refused (the attempt is no longer the node's
    running one: its report comes too late)."""
    if not _own_node(principal, run_id, node_id, attempt):
        return False
    if _holds_sealed(outcome.get("outputs")):
        raise Forbidden(f"outputs of {node_id} carry a sealed value ({SEALED}); send Secret outputs "
                        f"as {{{PLAIN!r}: value}}")
    recorded = execution().finish(Claim(run_id, node_id, attempt, brick=""), Outcome(**outcome))
    _claimed.pop((run_id, node_id, attempt), None)
    return recorded


def _holds_sealed(obj: Any) -> bool:
    # Only the control plane seals: an agent handing back ciphertext could make another
    # host's node unseal a value this host was never given.
    if isinstance(obj, dict):
        return SEALED in obj or any(_holds_sealed(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_holds_sealed(v) for v in obj)
    return False


def register_host(*, principal: Principal, address: str, labels: dict, version: str, seen_from: str | None) -> None:
    from nebhx.auth.audit import Door
    with session_scope() as s:
        hosts.register(s, name=_host(principal), address=address, labels=labels, version=version,
                       door=Door(actor=f"host:{_host(principal)}", via="agent", address=seen_from))


def beat(*, principal: Principal, services: list | None, volumes: list | None = None) -> None:
    with session_scope() as s:
        hosts.heartbeat(s, name=_host(principal), services=services, volumes=volumes)


def hello(*, principal: Principal) -> dict[str, Any]:
    from nebhx.auth.broker import agent_url
    settings = get_settings()
    return {"host": principal.host, "broker_url": agent_url(principal.name, principal.token_id),
            "heartbeat_s": settings.heartbeat_s,
            "lease_s": settings.lease_s}


def artifact_record(*, principal: Principal, sha256: str, name: str | None = None) -> ArtifactRead:
    """Any host may read any artifact: releases are not secrets (Secret values never go there)."""
    from nebhx.artifacts import service as artifacts
    with session_scope(read_only=True) as s:
        return artifacts.find_artifact(s, sha256=sha256, name=name)


def artifact_file(*, principal: Principal, sha256: str):
    from nebhx.artifacts.routes import send
    return send(sha256)


def brick_packages(*, principal: Principal) -> list[BrickPackage]:
    """Every host loads every package: bricks are code, not secrets."""
    from nebhx.artifacts import brickpkgs
    _host(principal)
    with session_scope(read_only=True) as s:
        return brickpkgs.current_packages(s)
