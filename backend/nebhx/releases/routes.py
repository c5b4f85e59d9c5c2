from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from nebhx.auth.deps import OPERATOR, VIEWER
from nebhx.releases import service
from nebhx.runs import service as runs
from nebhx.store.db import session_scope

router = APIRouter(tags=["releases"], dependencies=[VIEWER])
NAME = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"


class RollbackBody(BaseModel):
    host: str = Field(min_length=1, max_length=200)
    service: str = Field(max_length=200, pattern=NAME)
    instance: str = Field(default="", max_length=200, pattern=r"^[A-Za-z0-9_.-]*$")
    data_policy: Literal["keep_new", "restore_snapshot"] = "keep_new"
    lb_name: str = Field(default="", max_length=64, description="HAProxy balancer on that host, if any")


@router.get("/releases")
def list_releases(host: str | None = Query(None, max_length=200, description="Only this host"),
                  svc: str | None = Query(None, alias="service", max_length=200,
                                          description="Only this service")) -> list[dict[str, Any]]:
    """Releases per service instance per host (active, previous, prepared, pinned, committed,
    rolled back; config version; health), as the agents last reported them."""
    with session_scope() as s:
        return service.list_releases(s, host=host, service=svc)


@router.post("/releases/rollback", status_code=201, dependencies=[OPERATOR])
def rollback(body: RollbackBody, request: Request) -> dict[str, Any]:
    """Start a run of rollout.rollback on one host (operator); answers the run."""
    request.state.audit = {"host": body.host, "service": body.service, "data_policy": body.data_policy}
    with session_scope() as s:
        run_id = service.start_rollback(s, **body.model_dump())
    with session_scope() as s:
        return runs.get_run(s, run_id=run_id)
