from typing import Any, Literal

from fastapi import APIRouter, Body, Query

from nebhx.store.deps import DbSession
from nebhx.auth.deps import ADMIN, VIEWER
from nebhx.configs import service
from nebhx.configs.schemas import Explained, ProfileRead, ProfileSaved, ProfileSummary
from nebhx.limits import REVISION_MAX

router = APIRouter(tags=["configs"], dependencies=[VIEWER])


@router.get("/config/profiles")
def list_profiles(s: DbSession) -> list[ProfileSummary]:
    """Config profiles with their newest revision and parents."""
    return service.list_profiles(s)


@router.put("/config/profiles/{name}", dependencies=[ADMIN])
def save_profile(name: str, s: DbSession, doc: dict[str, Any] = Body(...)) -> ProfileSaved:
    """Save a profile as a new revision (unchanged content makes none)."""
    return service.save_profile(s, name=name, doc=doc)


@router.get("/config/profiles/{name}")
def get_profile(name: str, s: DbSession, revision: int | None = Query(None, ge=1, le=REVISION_MAX)) -> ProfileRead:
    """A profile at a revision (default: the newest) and its revision list."""
    return service.get_profile(s, name=name, revision=revision)


@router.get("/config/profiles/{name}/explain")
def explain(name: str, s: DbSession, host: str | None = None, cluster: str | None = None,
            store: Literal["database", "etcd"] = "database") -> Explained:
    """Final values for a host/cluster, each with the layer that set it (and, from etcd, the
    key and revision it was read at)."""
    return service.explain_profile(s, name=name, host=host, cluster=cluster, store=store)
