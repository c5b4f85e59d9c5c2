from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from nebhx.artifacts import service
from nebhx.artifacts.schemas import ArtifactRead
from nebhx.auth.deps import VIEWER
from nebhx.store.db import session_scope

router = APIRouter(tags=["artifacts"], dependencies=[VIEWER])


@router.get("/artifacts")
def list_artifacts(name: str | None = None, limit: int = Query(200, ge=1, le=1000)) -> list[ArtifactRead]:
    """Stored build artifacts, newest first, each with its provenance."""
    with session_scope() as s:
        return [ArtifactRead.model_validate(a) for a in service.list_artifacts(s, name=name, limit=limit)]


@router.get("/artifacts/{sha256}")
def download_artifact(sha256: str) -> FileResponse:
    """An artifact's bytes (its record's name as the file name)."""
    return send(sha256)


def send(sha256: str) -> FileResponse:
    with session_scope() as s:
        found = service.get_artifact(s, sha256=sha256)
    return FileResponse(service.blob_path(sha256=found["sha256"]), filename=found["name"],
                        media_type="application/octet-stream",
                        headers={"X-Nebhx-Sha256": found["sha256"]})
