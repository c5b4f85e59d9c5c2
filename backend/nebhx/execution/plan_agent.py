"""The embedded agent's plans (``nebhx up``'s worker with ``--host``, no token): planned like
any agent's (``nebhx.agent.plans``), answered through the store."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from nebhx.agent.plans import answer, plan_batch
from nebhx.engine.celery_app import PLAN_HOST, app
from nebhx.runtime import HostRuntime

__all__ = ["LocalHosts", "plan_batch", "plan_host"]
log = logging.getLogger("nebhx.plan")


@app.task(name=PLAN_HOST, acks_late=False, ignore_result=True)
def plan_host(request_id: str, host: str, batch: dict[str, Any]) -> None:
    from nebhx.execution.plan import record_answer
    told = answer(host, batch)
    try:
        record_answer(request_id=request_id, host=host, answer=told)
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
