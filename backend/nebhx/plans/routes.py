"""The plan route: what a run of a graph would do, changing nothing (``nebhx.plans.dryrun``).
Its path stays under /graphs, where the editor asks it."""
from fastapi import APIRouter

from nebhx.auth.deps import VIEWER
from nebhx.graphs.schemas import PlanRead, PlanRequest

router = APIRouter(tags=["graphs"], dependencies=[VIEWER])


@router.post("/graphs/plan", response_model_exclude_unset=True)
def plan_graph(body: PlanRequest) -> PlanRead:
    """What a run would do, per node and per fan-out item (host), changing nothing: no run is
    created and no brick runs (a viewer may ask). Bricks without a plan say "unknown effect"."""
    from nebhx.plans.service import plan
    return plan(graph=body.graph, graph_id=body.graph_id, revision=body.revision, inputs=body.inputs)
