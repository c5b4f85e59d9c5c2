from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from nebhx.store.deps import DbSession
from nebhx.web import unprocessable
from nebhx.auth.deps import ADMIN, VIEWER, operator, viewer
from nebhx.auth.tokens import Principal
from nebhx.graphs.diff import diff_run
from nebhx.graphs.schemas import GcResult, GraphDiff
from nebhx.limits import EVENT_ID_MAX, RUNS_LIMIT
from nebhx.runs import events, service
from nebhx.runs.schemas import Decision, RunCreate, RunEvent, RunRead, RunSummary

router = APIRouter(tags=["runs"], dependencies=[VIEWER])
# Keys a node does not have (items, children) stay out of the answer rather than come as [].
AS_IS = {"response_model_exclude_unset": True}
OPERATOR = Depends(operator)


@router.post("/runs", status_code=201, **AS_IS)
def create_run(body: RunCreate, s: DbSession, who: Principal = OPERATOR) -> RunRead:
    """Start a run of a stored graph revision, or of a document (stored by name first: admin, unless
    it is identical to the graph's latest revision)."""
    return service.start_run(s, who=who, graph_id=body.graph_id, revision=body.revision, graph=body.graph,
                             inputs=body.inputs)


@router.get("/runs")
def list_runs(s: DbSession, graph_id: str | None = None,
              limit: int = Query(100, ge=RUNS_LIMIT[0], le=RUNS_LIMIT[1])) -> list[RunSummary]:
    """Past and current runs, newest first."""
    return service.list_runs(s, graph_id=graph_id, limit=limit)


@router.post("/gc", dependencies=[ADMIN])
def gc(s: DbSession, graph_id: str | None = Query(None, max_length=64), dry_run: bool = False) -> GcResult:
    """Delete the runs (with their nodes, logs and events) that retention no longer keeps; a
    running run is always kept."""
    return service.collect_runs(s, graph_id=graph_id, dry_run=dry_run)


@router.get("/runs/{run_id}", **AS_IS)
def get_run(run_id: str, s: DbSession) -> RunRead:
    """A run: statuses, outputs (secrets masked) and errors of every node."""
    return service.get_run(s, run_id=run_id)


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


@router.get("/runs/{run_id}/diff")
def run_diff(run_id: str, s: DbSession) -> GraphDiff:
    """What this run's graph revision changed against the previous run's of the same graph."""
    return diff_run(s, run_id=run_id)


@router.get("/runs/{run_id}/events", response_class=EventStream,
            responses={200: {"model": RunEvent, "description": "Server-Sent Events, each one RunEvent"},
                       429: {"description": "Too many event streams open (for this user, or in all)"}})
async def run_events(run_id: str, request: Request, after: int | None = Query(None, ge=0, le=EVENT_ID_MAX),
                     who: Principal = Depends(viewer)) -> StreamingResponse:
    """Server-Sent Events: every status change with its time; replay from an event id (429 past
    the open streams a user, or the server, may hold)."""
    last = after if after is not None else _event_id(request.headers.get("last-event-id", ""))
    first = await run_in_threadpool(events.events_after, run_id, last)  # 404 before streaming
    if why := events.SLOTS.take(who.name):
        raise HTTPException(429, why, headers={"Retry-After": "5"})
    return StreamingResponse(events.stream(run_id, last, request, first, who.name), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/runs/{run_id}/nodes/{node_id}/log", response_class=PlainTextResponse)
def node_log(run_id: str, node_id: str, s: DbSession) -> str:
    """The node's log (secrets masked)."""
    return service.node_log(s, run_id=run_id, node_id=node_id)


@router.post("/runs/{run_id}/cancel", **AS_IS)
def cancel(run_id: str, s: DbSession, who: Principal = OPERATOR) -> RunRead:
    """Cancel a running run: pending nodes never start, running ones are stopped."""
    service.cancel_run(s, run_id=run_id, by=who.name)
    return service.get_run(s, run_id=run_id)


@router.post("/runs/{run_id}/nodes/{node_id}/retry", **AS_IS)
def retry(run_id: str, node_id: str, s: DbSession, who: Principal = OPERATOR) -> RunRead:
    """Run a failed node again; its downstream continues when it succeeds."""
    service.retry_node(s, run_id=run_id, node_id=node_id, by=who.name)
    return service.get_run(s, run_id=run_id)


@router.post("/runs/{run_id}/nodes/{node_id}/approve", **AS_IS)
def approve(run_id: str, node_id: str, body: Decision, request: Request, s: DbSession,
            who: Principal = OPERATOR) -> RunRead:
    """Approve a node that waits for approval; the approver is the signed-in user (``by`` is ignored)."""
    request.state.audit = {"comment": body.comment}
    service.decide(s, run_id=run_id, node_id=node_id, approve=True,
                   by=who.name, comment=body.comment, role=who.role, kind=who.kind)
    return service.get_run(s, run_id=run_id)


@router.post("/runs/{run_id}/nodes/{node_id}/reject", **AS_IS)
def reject(run_id: str, node_id: str, body: Decision, request: Request, s: DbSession,
           who: Principal = OPERATOR) -> RunRead:
    """Reject a waiting node: it fails, so rollback branches can start (``by`` is ignored)."""
    request.state.audit = {"comment": body.comment}
    service.decide(s, run_id=run_id, node_id=node_id, approve=False,
                   by=who.name, comment=body.comment, role=who.role, kind=who.kind)
    return service.get_run(s, run_id=run_id)


def _event_id(header: str) -> int:
    """Last-Event-ID as an event id: ASCII digits within BIGINT ("¹".isdigit() is True too)."""
    if not header:
        return 0
    if not (header.isascii() and header.isdigit() and int(header) <= EVENT_ID_MAX):
        raise unprocessable("/header/last-event-id", f"an event id is ASCII digits 0..{EVENT_ID_MAX}")
    return int(header)

