"""Address pools: their usage and allocations, releasing an owner's address, deleting a pool.

Pools are declared and addresses allocated by runs (net.pool, net.allocate); these routes
are for the operator who tears down by hand what a run left (net.release does it in a graph).
"""
from fastapi import APIRouter, HTTPException, Query, Request

from nebhx.auth.deps import ADMIN, OPERATOR, VIEWER
from nebhx.ipam import service
from nebhx.ipam.schemas import PoolDeleted, PoolDetail, PoolRead, Released
from nebhx.store.db import session_scope

router = APIRouter(tags=["pools"], dependencies=[VIEWER])
OWNER = Query(min_length=1, max_length=300, description="The owner given to net.allocate, e.g. overlay/h1")


def _refused(exc: service.PoolError) -> HTTPException:
    return HTTPException(404 if isinstance(exc, service.PoolMissing) else 409, str(exc))


@router.get("/pools")
def list_pools() -> list[PoolRead]:
    """Address pools with their size and how many addresses are allocated."""
    with session_scope() as s:
        return [PoolRead.model_validate(p) for p in service.list_pools(s)]


@router.get("/pools/{name}")
def get_pool(name: str) -> PoolDetail:
    """One pool and every allocation in it (address, owner, the run that made it)."""
    try:
        with session_scope() as s:
            return PoolDetail.model_validate({**service.pool_view(s, name), "allocations": service.allocations(s, name)})
    except service.PoolError as exc:
        raise _refused(exc) from None


@router.delete("/pools/{name}/allocations", dependencies=[OPERATOR])
def release(name: str, request: Request, owner: str = OWNER) -> Released:
    """Release an owner's address (operator); an owner holding none is no error."""
    request.state.audit = {"pool": name, "owner": owner}
    try:
        with session_scope() as s:
            return Released(pool=name, owner=owner, released=service.release(s, name, owner) or "")
    except service.PoolError as exc:
        raise _refused(exc) from None


@router.delete("/pools/{name}", dependencies=[ADMIN])
def delete_pool(name: str, request: Request,
                force: bool = Query(False, description="Also free its allocations")) -> PoolDeleted:
    """Delete a pool (admin); refused (409) while it holds allocations unless `force`."""
    request.state.audit = {"pool": name, "force": force}
    try:
        with session_scope() as s:
            return PoolDeleted(pool=name, released=service.delete_pool(s, name, force=force))
    except service.PoolError as exc:
        raise _refused(exc) from None
