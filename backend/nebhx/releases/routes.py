from fastapi import APIRouter, Query, Request

from nebhx.store.deps import DbSession
from nebhx.auth.deps import OPERATOR, VIEWER
from nebhx.graphs.schemas import PlanRead
from nebhx.releases import on_host, service, why
from nebhx.releases.schemas import (HistoryEntry, LogRead, PinBody, PinRead, ReleaseRow, RollbackBody,
                                    WhyRead)
from nebhx.runs.schemas import RunRead

router = APIRouter(tags=["releases"], dependencies=[VIEWER])


@router.get("/releases")
def list_releases(s: DbSession, host: str | None = Query(None, max_length=200, description="Only this host"),
                  svc: str | None = Query(None, alias="service", max_length=200,
                                          description="Only this service")) -> list[ReleaseRow]:
    """Releases per service instance per host (active, previous, prepared, pinned, committed,
    rolled back; config version; health), as the agents last reported them."""
    return service.list_releases(s, host=host, service=svc)


@router.get("/services/{host}/{svc}/why")
def why_it_runs(host: str, svc: str, s: DbSession, instance: str | None = Query(None, max_length=200)) -> WhyRead:
    """Why this service runs on this host: the process, its release and config (explain), its
    data, the run and graph revision that switched it, who approved, and what ran before."""
    return why.why(s, host=host, service=svc, instance=instance)


@router.post("/releases/rollback", status_code=201, dependencies=[OPERATOR], response_model_exclude_unset=True)
def rollback(body: RollbackBody, request: Request, s: DbSession) -> RunRead:
    """Start one run of rollout.rollback over the hosts, batched (operator); answers the run."""
    request.state.audit = {"host": body.host, "hosts": body.hosts, "run": body.run,
                           "service": body.service, "data_policy": body.data_policy,
                           "release": body.release}
    return service.start_rollback(s, **body.model_dump())


@router.post("/releases/rollback/plan", dependencies=[OPERATOR], response_model_exclude_unset=True)
def plan_rollback(body: RollbackBody) -> PlanRead:
    """What a rollback would do on each host, asked of each host's agent (changes nothing)."""
    return service.plan_rollback(**body.model_dump())


@router.post("/releases/pin", dependencies=[OPERATOR])
def pin(body: PinBody, request: Request) -> PinRead:
    """Pin a staged release on its host (retention never removes it) or unpin it (operator)."""
    request.state.audit = body.model_dump()
    return on_host.set_pinned(**body.model_dump())


@router.get("/services/{host}/{svc}/log")
def service_log(host: str, svc: str, instance: str = Query("", max_length=200),
                out: int | None = Query(None, ge=0, description="Offset in stdout to read from (follow)"),
                err: int | None = Query(None, ge=0, description="Offset in stderr to read from (follow)"),
                max_bytes: int | None = Query(None, ge=1, le=64_000)) -> LogRead:
    """The tail of a service's stdout and stderr on its host, read by its agent (secrets
    masked); without offsets the last bytes, with the offsets answered, what came since."""
    offsets = {k: v for k, v in (("out", out), ("err", err)) if v is not None}
    return on_host.read_log(host=host, service=svc, instance=instance, offsets=offsets, max_bytes=max_bytes)


@router.get("/services/{host}/{svc}/history", response_model_by_alias=True)
def deploy_history(host: str, svc: str, s: DbSession, instance: str = Query("", max_length=200)) -> list[HistoryEntry]:
    """Which stored runs switched this service on this host, when, from which release to which
    (newest first)."""
    return on_host.history(s, host=host, service=svc, instance=instance)
