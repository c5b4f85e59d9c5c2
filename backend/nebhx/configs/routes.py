from typing import Any

from fastapi import APIRouter, Body, Query

from nebhx.auth.deps import ADMIN, VIEWER
from nebhx.configs import service
from nebhx.limits import REVISION_MAX
from nebhx.store.db import session_scope

router = APIRouter(tags=["configs"], dependencies=[VIEWER])


@router.get("/config/profiles")
def list_profiles() -> list[dict[str, Any]]:
    """Config profiles with their newest revision and parents."""
    with session_scope() as s:
        return service.list_profiles(s)


@router.put("/config/profiles/{name}", dependencies=[ADMIN])
def save_profile(name: str, doc: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Save a profile as a new revision (unchanged content makes none)."""
    with session_scope() as s:
        return service.save_profile(s, name=name, doc=doc)


@router.get("/config/profiles/{name}")
def get_profile(name: str, revision: int | None = Query(None, ge=1, le=REVISION_MAX)) -> dict[str, Any]:
    """A profile at a revision (default: the newest) and its revision list."""
    with session_scope() as s:
        return service.get_profile(s, name=name, revision=revision)


@router.get("/config/profiles/{name}/explain")
def explain(name: str, host: str | None = None, cluster: str | None = None) -> dict[str, Any]:
    """Final values for a host/cluster, each with the layer that set it."""
    with session_scope() as s:
        return service.explain_profile(s, name=name, host=host, cluster=cluster)
