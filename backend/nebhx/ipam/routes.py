"""Address pools: their usage and allocations, releasing an owner's address, deleting a pool.

Pools are declared and addresses allocated by runs (net.pool, net.allocate); these routes
are for the operator who tears down by hand what a run left (net.release does it in a graph).
A missing pool is answered 404, any other refusal (a bad name, a pool still in use) 409.
"""
from fastapi import APIRouter, Query, Request

from nebhx.auth.deps import ADMIN, OPERATOR, VIEWER
from nebhx.ipam import service
from nebhx.ipam.schemas import PoolDeleted, PoolDetail, PoolRead, Released
from nebhx.store.deps import DbSession

router = APIRouter(tags=["pools"], dependencies=[VIEWER])
OWNER = Query(min_length=1, max_length=300, description="The owner given to net.allocate, e.g. overlay/h1")


@router.get("/pools")
def list_pools(s: DbSession) -> list[PoolRead]:
    """Address pools with their size and how many addresses are allocated."""
    return service.list_pools(s)


@router.get("/pools/{name}")
def get_pool(name: str, s: DbSession) -> PoolDetail:
    """One pool and every allocation in it (address, owner, the run that made it)."""
    return service.get_pool(s, name=name)


@router.delete("/pools/{name}/allocations", dependencies=[OPERATOR])
def release(name: str, request: Request, s: DbSession, owner: str = OWNER) -> Released:
    """Release an owner's address (operator); an owner holding none is no error."""
    request.state.audit = {"pool": name, "owner": owner}
    return service.release(s, pool=name, owner=owner)


@router.delete("/pools/{name}", dependencies=[ADMIN])
def delete_pool(name: str, request: Request, s: DbSession,
                force: bool = Query(False, description="Also free its allocations")) -> PoolDeleted:
    """Delete a pool (admin); refused (409) while it holds allocations unless `force`."""
    request.state.audit = {"pool": name, "force": force}
    return service.delete_pool(s, name=name, force=force)
