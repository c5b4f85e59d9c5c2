from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from nebhx.artifacts.schemas import ArtifactRead, BrickPackage
from nebhx.auth.tokens import Principal
from nebhx.execution import service
from nebhx.auth.host_deps import require_host
from nebhx.execution.schemas import (Alive, Beat, ClaimIn, ClaimRead, Finish, Hello, LockIn, LockOut, Register,
                                     Renew, Renewed)

router = APIRouter(prefix="/exec", tags=["execution"])
Host = Depends(require_host)


@router.get("/hello", response_model=Hello)
def hello(host: Principal = Host) -> dict[str, Any]:
    """What an agent needs to start: its host name, the broker, lease timings."""
    return service.hello(principal=host)


@router.post("/register", status_code=204)
def register(body: Register, request: Request, host: Principal = Host) -> Response:
    """An agent announces its host: address, labels, version (audited)."""
    service.register_host(principal=host, seen_from=request.client.host if request.client else None,
                          **body.model_dump())
    return Response(status_code=204)


@router.post("/heartbeat", status_code=204)
def heartbeat(body: Beat, host: Principal = Host) -> Response:
    """An agent is alive; with what it saw of its services."""
    service.beat(principal=host, services=body.services, volumes=body.volumes)
    return Response(status_code=204)


@router.post("/claim", response_model=ClaimRead, responses={204: {"description": "stale or taken"}})
def claim(body: ClaimIn, host: Principal = Host) -> Any:
    """Take one attempt of one of this host's nodes: its inputs and only its secrets (204: stale)."""
    out = service.claim_node(principal=host, **body.model_dump())
    return Response(status_code=204) if out is None else out


@router.post("/alive", status_code=204)
def alive(body: Alive, host: Principal = Host) -> Response:
    """An agent process is alive (every second): its claimed nodes are not taken for lost."""
    service.worker_alive(principal=host, worker=body.worker)
    return Response(status_code=204)


@router.post("/renew", response_model=Renewed)
def renew(body: Renew, host: Principal = Host) -> dict[str, bool]:
    """Renew a running node's lease and append to its log; alive false: stop the brick."""
    return {"alive": service.renew_lease(principal=host, **body.model_dump())}


@router.post("/lock", response_model=LockOut)
def lock(body: LockIn, host: Principal = Host) -> dict[str, Any]:
    """Take a service lock of this host for a running node's run (holder null: taken)."""
    return {"holder": service.take_lock(principal=host, run_id=body.run_id, node_id=body.node_id,
                                        attempt=body.attempt, key=body.key.model_dump())}


@router.post("/finish", status_code=204, responses={409: {"description": "stale: not the running attempt"}})
def finish(body: Finish, host: Principal = Host) -> Response:
    """Report an attempt's outcome; the control plane seals, masks, records and advances (409: stale)."""
    if service.finish_node(principal=host, run_id=body.run_id, node_id=body.node_id, attempt=body.attempt,
                           outcome=body.outcome.model_dump()):
        return Response(status_code=204)
    return JSONResponse({"detail": f"attempt {body.attempt} of {body.node_id} is not the node's running "
                                   "attempt: its report is refused"}, status_code=409)


@router.get("/brick-packages")
def brick_packages(host: Principal = Host) -> list[BrickPackage]:
    """The current brick packages, each pinned by sha256 (bytes at /exec/artifacts/{sha256})."""
    return service.brick_packages(principal=host)


@router.get("/artifacts/{sha256}")
def artifact(sha256: str, host: Principal = Host) -> FileResponse:
    """An artifact's bytes, for release.stage's artifact: source (the agent checks the sha256)."""
    return service.artifact_file(principal=host, sha256=sha256)


@router.get("/artifacts/{sha256}/record")
def artifact_record(sha256: str, name: str | None = None, host: Principal = Host) -> ArtifactRead:
    """An artifact's record: name, size and provenance (what the staged release keeps)."""
    return service.artifact_record(principal=host, sha256=sha256, name=name)


from nebhx.execution.plan_routes import router as _plan_router  # noqa: E402

router.include_router(_plan_router)
