"""A host's agent plans its own nodes (``nebhx.plan_host``, sent by nebhx.execution.plan).

The task carries the items to plan on this host, in dependency order (brick, inputs), and
what the plan's earlier nodes will have changed here (``planned``). Each brick's ``plan()``
runs against this host's real runtime: it reads the host's state and changes nothing, and
nothing of the graph's runs (no command, no package manager, no template beyond its budget).
A batch with an ``op`` is a small host operation instead (``host_ops``). Where the answer
goes is the task's: the execution API on an agent (``agent.tasks``), the store for the
embedded agent of ``nebhx up`` (``execution.plan_agent``).
"""
from __future__ import annotations

import logging
import os
import time
from functools import lru_cache
from typing import Any

from nebhx.bricks.base import Context
from nebhx.bricks.planning import Planned, cannot_tell, decode, encode, tell
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


@lru_cache(maxsize=4)
def _runtime(host: str) -> HostRuntime:
    """This host's runtime for plans, kept: what it works out once (its managed folders
    resolved, its address) stays true while the agent runs, and a plan only reads."""
    return HostRuntime.for_host(host)


def answer(host: str, batch: dict[str, Any]) -> dict[str, Any]:
    """This agent's answer to one ``nebhx.plan_host`` task: a plan, an op's result, or why not."""
    mine = os.environ.get("NEBHX_AGENT_HOST")
    try:
        if host != mine:  # a queue is one host's: anything else is a mistake, not a request
            return {"error": f"the agent of host {mine!r} was asked to plan host {host!r}"}
        if batch.get("op"):  # not a plan: pin, unpin, a log's tail (nebhx.agent.host_ops)
            from nebhx.agent.host_ops import run_op
            return run_op(HostRuntime.for_host(host), batch)
        return plan_batch(_runtime(host), batch)
    except Exception as exc:  # the answer says why; the plan never waits for a crashed task
        log.exception("plan of host %s failed", host)
        return {"error": f"the agent of host {host} could not plan: {type(exc).__name__}: {exc}"}
