"""What the control plane sends to a host's queue, run by its agent: one attempt of one node
(``RUN_NODE``) and a plan of its nodes or a small host operation (``PLAN_HOST``); both
report through the execution API."""
from __future__ import annotations

import logging
from typing import Any

from nebhx.agent import models as m
from nebhx.agent.app import app
from nebhx.agent.client import AgentClient, agent_client, http_execution
from nebhx.broker.app import PLAN_HOST, RUN_NODE
from nebhx.settings import get_settings

log = logging.getLogger("nebhx.agent")


def _joined() -> tuple[str, str]:
    """The control plane's URL and this host's token (``agent.main`` set them at start)."""
    settings = get_settings()
    assert settings.agent_token, "an agent runs joined with its host's token"
    return settings.url, settings.agent_token


def client() -> AgentClient:
    return agent_client(*_joined())


@app.task(name=RUN_NODE, acks_late=True)
def run_node(run_id: str, node_id: str, attempt: int) -> None:
    from nebhx.attempt.execute import execute_node
    execute_node(run_id, node_id, attempt, http_execution(*_joined()))  # the client has its own retries


@app.task(name=PLAN_HOST, acks_late=False, ignore_result=True)
def plan_host(request_id: str, host: str, batch: dict[str, Any]) -> None:
    from nebhx.agent.plans import answer
    told = answer(host, batch)
    try:
        client().call(f"/plan/{request_id}", m.PlanAnswer(answer=told), patience_s=5)
    except Exception as exc:  # the plan ended meanwhile: nobody waits for this answer
        log.warning("plan %s: the answer of host %s was not taken: %s", request_id, host, exc)
