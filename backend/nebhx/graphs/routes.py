from typing import Any

from fastapi import APIRouter, Body, Path, Query

from nebhx.api.edge import unprocessable
from nebhx.auth.deps import ADMIN, VIEWER
from nebhx.bricks.registry import get_registry
from nebhx.graphs import diff, removal, service, templates
from nebhx.graphs.models import Graph, graph_json_schema
from nebhx.graphs.templates import CanaryRequest, Draft
from nebhx.graphs.schemas import GraphDeleted, GraphDiff, GraphRead, Retention, GraphSaved, GraphSummary, PlanRead, PlanRequest, Problems
from nebhx.limits import REVISION_MAX
from nebhx.store.db import session_scope

router = APIRouter(tags=["graphs"], dependencies=[VIEWER])
Doc = Body(..., description="A graph document, format nebhx/graph@1")


@router.get("/schema/graph")
def graph_schema() -> dict[str, Any]:
    """The JSON Schema of the graph document format."""
    return graph_json_schema()


@router.post("/graphs/validate")
def validate_graph(doc: dict[str, Any] = Doc) -> Problems:
    """Check a graph; 422 lists every problem with its node and port."""
    service.validate_doc(doc=doc)
    return Problems(ok=True, problems=[])


@router.post("/graphs/problems")
def graph_problems(doc: dict[str, Any] = Doc) -> Problems:
    """The same checks as validate, always answered 200: for editors that check as you draw."""
    return Problems.model_validate(service.problems_of(doc=doc))


@router.post("/graphs/plan", response_model_exclude_unset=True)
def plan_graph(body: PlanRequest) -> PlanRead:
    """What a run would do, per node and per fan-out item (host), changing nothing: no run is
    created and no brick runs (a viewer may ask). Bricks without a plan say "unknown effect"."""
    from nebhx.plans.dryrun import plan_request
    # No transaction stays open while the hosts' agents answer: plan_request opens its own.
    return PlanRead.model_validate(plan_request(graph=body.graph, graph_id=body.graph_id,
                                                revision=body.revision, inputs=body.inputs))


@router.post("/templates/canary")
def canary_template(body: CanaryRequest) -> Draft:
    """A canary update of your service, made from examples/canary-update.json (not saved)."""
    return templates.make_canary(request=body, registry=get_registry())


@router.get("/graphs")
def list_graphs() -> list[GraphSummary]:
    """Every stored graph with its latest revision number."""
    with session_scope() as s:
        return [GraphSummary.model_validate(g) for g in service.list_graphs(s)]


@router.post("/graphs", status_code=201, dependencies=[ADMIN])
def create_graph(doc: dict[str, Any] = Doc) -> GraphSaved:
    """Store a new graph (revision 1); also how a JSON export is imported."""
    with session_scope() as s:
        return GraphSaved.model_validate(service.create_graph(s, doc=doc))


@router.put("/graphs/{graph_id}", dependencies=[ADMIN])
def save_graph(graph_id: str, doc: dict[str, Any] = Doc) -> GraphSaved:
    """Save a new revision; earlier revisions are never changed."""
    with session_scope() as s:
        return GraphSaved.model_validate(service.save_revision(s, graph_id=graph_id, doc=doc))


@router.get("/graphs/{graph_id}")
def get_graph(graph_id: str) -> GraphRead:
    """A graph and the list of its revisions."""
    with session_scope() as s:
        return GraphRead.model_validate(service.get_graph(s, graph_id=graph_id))


@router.delete("/graphs/{graph_id}", dependencies=[ADMIN])
def delete_graph(graph_id: str) -> GraphDeleted:
    """Delete a graph with its revisions and runs; 409 while a trigger, another graph (as a
    composite) or a running run uses it."""
    with session_scope() as s:
        return GraphDeleted.model_validate(removal.delete_graph(s, graph_id=graph_id))


@router.put("/graphs/{graph_id}/retention", dependencies=[ADMIN])
def set_retention(graph_id: str, body: Retention) -> Retention:
    """How many of this graph's runs housekeeping keeps (both null: the server's defaults)."""
    with session_scope() as s:
        return Retention.model_validate(service.set_retention(s, graph_id=graph_id, **body.model_dump()))


@router.get("/graphs/{graph_id}/diff")
def diff_graph(graph_id: str,
               before: int | None = Query(None, alias="from", ge=1, le=REVISION_MAX,
                                          description="Default: the revision before `to`"),
               after: int | None = Query(None, alias="to", ge=1, le=REVISION_MAX,
                                         description="Default: the latest revision")) -> GraphDiff:
    """What changed between two revisions: nodes added, removed and changed (params, execution
    settings), wires, inputs and outputs; secrets by reference only."""
    with session_scope() as s:
        return GraphDiff.model_validate(diff.diff_revisions(s, graph_id=graph_id, before=before, after=after))


# Answered exactly as saved (not re-serialised through the model); documented as the format.
@router.get("/graphs/{graph_id}/revisions/{number}", response_model=None,
            responses={200: {"model": Graph, "description": "The graph document (nebhx/graph@1)"}})
def get_revision(graph_id: str, number: str = Path(pattern=r"^(latest|[0-9]{1,10})$", description=(
        f"A revision number (1..{REVISION_MAX}, ASCII digits) or latest"))) -> dict[str, Any]:
    """A revision's document exactly as saved (the export); ``latest`` for the newest. A graph that
    uses composites carries them in ``includes`` (by ``<graph id>@<revision>``)."""
    with session_scope() as s:
        return service.export_revision(s, graph_id=graph_id, number=None if number == "latest" else _int(number))


def _int(text: str) -> int:
    """The pattern let only ASCII digits through ("¹".isdigit() is True; int("¹") fails)."""
    if not 1 <= int(text) <= REVISION_MAX:
        raise unprocessable("/path/number", f"a revision is 1..{REVISION_MAX}, not {text}")
    return int(text)
