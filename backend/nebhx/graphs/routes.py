from typing import Any

from fastapi import APIRouter, Body, Path, Query

from nebhx.store.deps import DbSession
from nebhx.web import unprocessable
from nebhx.auth.deps import ADMIN, VIEWER
from nebhx.bricks.registry import get_registry
from nebhx.graphs import diff, removal, service, templates
from nebhx.graph_model import Graph, graph_json_schema
from nebhx.graphs.templates import CanaryRequest, Draft
from nebhx.graphs.schemas import GraphDeleted, GraphDiff, GraphRead, Retention, GraphSaved, GraphSummary, Problems
from nebhx.limits import REVISION_MAX

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
    return service.problems_of(doc=doc)


@router.post("/templates/canary")
def canary_template(body: CanaryRequest) -> Draft:
    """A canary update of your service, made from examples/canary-update.json (not saved)."""
    return templates.make_canary(request=body, registry=get_registry())


@router.get("/graphs")
def list_graphs(s: DbSession) -> list[GraphSummary]:
    """Every stored graph with its latest revision number."""
    return service.list_graphs(s)


@router.post("/graphs", status_code=201, dependencies=[ADMIN])
def create_graph(s: DbSession, doc: dict[str, Any] = Doc) -> GraphSaved:
    """Store a new graph (revision 1); also how a JSON export is imported."""
    return service.create_graph(s, doc=doc)


@router.put("/graphs/{graph_id}", dependencies=[ADMIN])
def save_graph(graph_id: str, s: DbSession, doc: dict[str, Any] = Doc) -> GraphSaved:
    """Save a new revision; earlier revisions are never changed."""
    return service.save_revision(s, graph_id=graph_id, doc=doc)


@router.get("/graphs/{graph_id}")
def get_graph(graph_id: str, s: DbSession) -> GraphRead:
    """A graph and the list of its revisions."""
    return service.get_graph(s, graph_id=graph_id)


@router.delete("/graphs/{graph_id}", dependencies=[ADMIN])
def delete_graph(graph_id: str, s: DbSession) -> GraphDeleted:
    """Delete a graph with its revisions and runs; 409 while a trigger, another graph (as a
    composite) or a running run uses it."""
    return removal.delete_graph(s, graph_id=graph_id)


@router.put("/graphs/{graph_id}/retention", dependencies=[ADMIN])
def set_retention(graph_id: str, body: Retention, s: DbSession) -> Retention:
    """How many of this graph's runs housekeeping keeps (both null: the server's defaults)."""
    return service.set_retention(s, graph_id=graph_id, keep_runs=body.keep_runs, keep_days=body.keep_days)


@router.get("/graphs/{graph_id}/diff")
def diff_graph(graph_id: str, s: DbSession,
               before: int | None = Query(None, alias="from", ge=1, le=REVISION_MAX,
                                          description="Default: the revision before `to`"),
               after: int | None = Query(None, alias="to", ge=1, le=REVISION_MAX,
                                         description="Default: the latest revision")) -> GraphDiff:
    """What changed between two revisions: nodes added, removed and changed (params, execution
    settings), wires, inputs and outputs; secrets by reference only."""
    return diff.diff_revisions(s, graph_id=graph_id, before=before, after=after)


# Answered exactly as saved (not re-serialised through the model); documented as the format.
@router.get("/graphs/{graph_id}/revisions/{number}", response_model=None,
            responses={200: {"model": Graph, "description": "The graph document (nebhx/graph@1)"}})
def get_revision(graph_id: str, s: DbSession, number: str = Path(pattern=r"^(latest|[0-9]{1,10})$", description=(
        f"A revision number (1..{REVISION_MAX}, ASCII digits) or latest"))) -> dict[str, Any]:
    """A revision's document exactly as saved (the export); ``latest`` for the newest. A graph that
    uses composites carries them in ``includes`` (by ``<graph id>@<revision>``)."""
    return service.export_revision(s, graph_id=graph_id, number=None if number == "latest" else _int(number))


def _int(text: str) -> int:
    """The pattern let only ASCII digits through ("¹".isdigit() is True; int("¹") fails)."""
    if not 1 <= int(text) <= REVISION_MAX:
        raise unprocessable("/path/number", f"a revision is 1..{REVISION_MAX}, not {text}")
    return int(text)
