from typing import Any

from fastapi import APIRouter

from nebhx.hosts import service
from nebhx.store.db import session_scope

router = APIRouter(tags=["hosts"])


@router.get("/hosts")
def list_hosts() -> list[dict[str, Any]]:
    """Registered hosts with their labels and state (up or down)."""
    with session_scope() as s:
        return service.list_hosts(s)


@router.get("/services")
def list_services() -> list[dict[str, Any]]:
    """Every service on every host: release, config version, process state, last probe."""
    with session_scope() as s:
        return service.list_services(s)
