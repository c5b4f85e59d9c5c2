from fastapi import APIRouter, Request

from nebhx.store.deps import DbSession
from nebhx.web import unprocessable
from nebhx.auth import service as auth_service
from nebhx.auth.deps import ADMIN, VIEWER
from nebhx.auth.schemas import HostCreate
from nebhx.hosts import service
from nebhx.hosts.labels import router as labels_router
from nebhx.hosts.schemas import Approval, HostDeleted, HostJoin, HostRead, ServiceLockRead, ServiceRead
from nebhx.settings import get_settings

router = APIRouter(tags=["hosts"], dependencies=[VIEWER])
router.include_router(labels_router)  # PATCH /hosts/{name}/labels: admin labels


@router.get("/hosts")
def list_hosts(s: DbSession) -> list[HostRead]:
    """Registered hosts with their labels and state (up or down)."""
    return service.list_hosts(s)


@router.post("/hosts", status_code=201, dependencies=[ADMIN])
def add_host(body: HostCreate, request: Request, s: DbSession) -> HostJoin:
    """A join token for a new host's agent and the command that starts it; shown once."""
    request.state.audit = {"host": body.name}
    settings = get_settings()
    # NEBHX_URL when set is the address hosts reach; else the one this admin used.
    server = settings.url if "url" in settings.model_fields_set else str(request.base_url)
    return auth_service.add_host(s, name=body.name, labels=body.labels, server=server)


@router.delete("/hosts/{name}", dependencies=[ADMIN])
def delete_host(name: str, s: DbSession) -> HostDeleted:
    """Forget a host and revoke its agent's tokens; 409 while a running run has work on it."""
    return service.delete_host(s, name=name)


@router.post("/hosts/{name}/labels/approve", dependencies=[ADMIN])
def approve_labels(name: str, body: Approval, request: Request, s: DbSession) -> HostRead:
    """Approve the labels a host's agent declares now; a value it changes later waits again."""
    try:
        row, picked = service.approve_labels(s, name=name, keys=body.keys)
    except ValueError as exc:
        raise unprocessable("/body/keys", str(exc)) from None
    request.state.audit = {"host": name, "approved": picked}
    return service.read_host(row)


@router.get("/services")
def list_services(s: DbSession) -> list[ServiceRead]:
    """Every service on every host: release, config version, process state, last probe."""
    return service.list_services(s)


@router.get("/locks")
def list_locks(s: DbSession) -> list[ServiceLockRead]:
    """Service locks held now: which run switches or restarts which service on which host."""
    return service.list_locks(s)
