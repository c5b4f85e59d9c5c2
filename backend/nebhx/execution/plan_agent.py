"""A host's agent plans its own nodes (``nebhx.plan_host``, sent by nebhx.execution.plan).

The task carries the items to plan on this host, in dependency order (brick, inputs), and
what the plan's earlier nodes will have changed here (``planned``). Each brick's ``plan()``
runs against this host's real runtime: it reads the host's state and changes nothing, and
nothing of the graph's runs (no command, no package manager, no template beyond its budget).
The answer goes back through the execution API with the host's token, or through the store
for the embedded agent of ``nebhx up`` (which has no token).
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from nebhx.bricks.base import Context
from nebhx.bricks.planning import Planned, cannot_tell, decode, encode, tell
from nebhx.engine.celery_app import app
from nebhx.runtime import HostRuntime

log = logging.getLogger("nebhx.plan")


def plan_batch(runtime: HostRuntime, batch: dict[str, Any], registry: Any = None) -> dict[str, Any]:
    """``{"items": {id: plan}}`` for one host's batch, planned in order on ``runtime``."""
    from nebhx.bricks.registry import get_registry
    registry = registry or get_registry()
    deadline = time.monotonic() + max(0.0, float(batch.get("deadline_s") or 5.0))
    planned = Planned(decode(batch.get("planned") or {}), deadline=deadline)
    out: dict[str, Any] = {}
    for item in batch.get("items") or []:
        if time.monotonic() > deadline:
            out[item["id"]] = cannot_tell(f"host {runtime.name} ran out of the plan's time before this node")
            continue
        ctx = Context(run_id="plan", node_id=item["id"], host=runtime.name, runtime=runtime, planned=planned)
        told = tell(registry.get(item["brick"]), item["brick"], decode(item.get("inputs") or {}), ctx)
        if not item.get("conditional"):
            planned.merge(told.get("sets"))
        out[item["id"]] = encode(told)
    return {"items": out}


@app.task(name="nebhx.plan_host", acks_late=False, ignore_result=True)
def plan_host(request_id: str, host: str, batch: dict[str, Any]) -> None:
    mine = os.environ.get("NEBHX_AGENT_HOST")
    try:
        if host != mine:  # a queue is one host's: anything else is a mistake, not a request
            answer: dict[str, Any] = {"error": f"the agent of host {mine!r} was asked to plan host {host!r}"}
        elif batch.get("op"):  # not a plan: pin, unpin, a log's tail (nebhx.execution.host_ops)
            from nebhx.execution.host_ops import run_op
            answer = run_op(HostRuntime.for_host(host), batch)
        else:
            answer = plan_batch(HostRuntime.for_host(host), batch)
    except Exception as exc:  # the answer says why; the plan never waits for a crashed task
        log.exception("plan of host %s failed", host)
        answer = {"error": f"the agent of host {host} could not plan: {type(exc).__name__}: {exc}"}
    reply(request_id, host, answer)


def reply(request_id: str, host: str, answer: dict[str, Any]) -> None:
    from nebhx.settings import get_settings
    settings = get_settings()
    try:
        if settings.agent_token:
            from nebhx.execution.client import agent_client
            agent_client(settings.url, settings.agent_token).call(f"/plan/{request_id}", {"answer": answer},
                                                                  patience_s=5)
        else:
            from nebhx.execution.plan import record_answer
            record_answer(request_id=request_id, host=host, answer=answer)
    except Exception as exc:  # the plan ended meanwhile: nobody waits for this answer
        log.warning("plan %s: the answer of host %s was not taken: %s", request_id, host, exc)


class LocalHosts:
    """Plans host items in this process on runtimes given by ``runtime_for`` (tests, benches;
    a host it has no runtime for has no agent)."""

    def __init__(self, runtime_for: Callable[[str], HostRuntime | None], registry: Any = None):
        self.runtime_for, self.registry = runtime_for, registry

    def ask(self, batches: dict[str, dict[str, Any]], timeout_s: float) -> dict[str, dict[str, Any]]:
        out = {}
        for host, batch in batches.items():
            runtime = self.runtime_for(host)
            out[host] = ({"error": f"no agent of host {host} is running"} if runtime is None
                         else plan_batch(runtime, batch, self.registry))
        return out
