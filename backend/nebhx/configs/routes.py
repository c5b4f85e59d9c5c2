from typing import Any, Literal

from fastapi import APIRouter, Body, Query

from nebhx.auth.deps import ADMIN, VIEWER
from nebhx.configs import service
from nebhx.configs.schemas import Explained, ProfileRead, ProfileSaved, ProfileSummary
from nebhx.limits import REVISION_MAX
from nebhx.store.db import session_scope

router = APIRouter(tags=["configs"], dependencies=[VIEWER])


@router.get("/config/profiles")
def list_profiles() -> list[ProfileSummary]:
    """Config profiles with their newest revision and parents."""
    with session_scope() as s:
        return [ProfileSummary.model_validate(p) for p in service.list_profiles(s)]


@router.put("/config/profiles/{name}", dependencies=[ADMIN])
def save_profile(name: str, doc: dict[str, Any] = Body(...)) -> ProfileSaved:
    """Save a profile as a new revision (unchanged content makes none)."""
    with session_scope() as s:
        return ProfileSaved.model_validate(service.save_profile(s, name=name, doc=doc))


@router.get("/config/profiles/{name}")
def get_profile(name: str, revision: int | None = Query(None, ge=1, le=REVISION_MAX)) -> ProfileRead:
    """A profile at a revision (default: the newest) and its revision list."""
    with session_scope() as s:
        return ProfileRead.model_validate(service.get_profile(s, name=name, revision=revision))


@router.get("/config/profiles/{name}/explain")
def explain(name: str, host: str | None = None, cluster: str | None = None,
            store: Literal["database", "etcd"] = "database") -> Explained:
    """Final values for a host/cluster, each with the layer that set it (and, from etcd, the
    key and revision it was read at)."""
    with session_scope() as s:
        return Explained.model_validate(service.explain_profile(s, name=name, host=host, cluster=cluster,
                                                                store=store))
