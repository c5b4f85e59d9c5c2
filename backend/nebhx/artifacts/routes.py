import io

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from nebhx.web import unprocessable
from nebhx.artifacts import brickpkgs, service
from nebhx.artifacts.schemas import ArtifactRead, BrickPackage
from nebhx.auth.deps import ADMIN, VIEWER
from nebhx.bricks.registry import get_registry
from nebhx.store.deps import DbSession

router = APIRouter(tags=["artifacts"], dependencies=[VIEWER])


@router.get("/artifacts")
def list_artifacts(s: DbSession, name: str | None = None, limit: int = Query(200, ge=1, le=1000)) -> list[ArtifactRead]:
    """Stored build artifacts, newest first, each with its provenance."""
    return service.list_artifacts(s, name=name, limit=limit)


@router.get("/artifacts/{sha256}")
def download_artifact(sha256: str, s: DbSession) -> FileResponse:
    """An artifact's bytes (its record's name as the file name)."""
    return file_answer(service.find_artifact(s, sha256=sha256))


def file_answer(found: ArtifactRead) -> FileResponse:
    return FileResponse(service.blob_path(sha256=found.sha256), filename=found.name,
                        media_type="application/octet-stream", headers={"X-Nebhx-Sha256": found.sha256})


def send(sha256: str) -> FileResponse:
    """An artifact's bytes for a caller without a route session (the execution API's)."""
    return file_answer(service.stored_artifact(sha256=sha256))


@router.get("/brick-packages", tags=["bricks"], name="brick_packages.list")
def list_brick_packages(s: DbSession) -> list[BrickPackage]:
    """The current brick packages (the newest registration of each name), with their sha256."""
    return brickpkgs.current_packages(s)


@router.post("/brick-packages", tags=["bricks"], status_code=201, dependencies=[ADMIN],
             name="brick_packages.register")
async def register_brick_package(request: Request, name: str, version: str,
                                 format: str = Query("tar", description="wheel or tar (gzip or plain)")) -> BrickPackage:
    """Register a brick package: the request body is the archive (a wheel, or a tar of a blocks
    folder). Every agent fetches it and loads its bricks; the palette reloads here (admins only)."""
    body = io.BytesIO(await request.body())
    try:
        entry = await run_in_threadpool(brickpkgs.register_upload, name=name, version=version, fmt=format, body=body)
    except ValueError as exc:
        field, _, why = str(exc).partition(": ")
        raise unprocessable(f"/{field}", why) from exc
    request.state.audit = {"version": entry.version, "sha256": entry.sha256}  # the audit row's data
    await run_in_threadpool(get_registry, True)
    return entry
