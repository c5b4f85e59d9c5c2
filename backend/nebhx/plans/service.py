"""The plan route's service: a ``dryrun.plan_request`` answered as its API model."""
from __future__ import annotations

from typing import Any

from nebhx.graphs.schemas import PlanRead


def plan(*, graph: dict | None, graph_id: str | None, revision: int | None,
         inputs: dict[str, Any] | None) -> PlanRead:
    """What a run would do; no transaction stays open while the hosts' agents answer
    (``plan_request`` opens its own)."""
    from nebhx.plans.dryrun import plan_request
    return PlanRead.model_validate(plan_request(graph=graph, graph_id=graph_id, revision=revision, inputs=inputs))
