import io

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from nebhx.web import unprocessable
from nebhx.artifacts import brickpkgs, service
from nebhx.artifacts.schemas import ArtifactRead, BrickPackage
from nebhx.auth.deps import ADMIN, VIEWER
from nebhx.bricks.registry import get_registry
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


@router.get("/brick-packages", tags=["bricks"], name="brick_packages.list")
def list_brick_packages() -> list[BrickPackage]:
    """The current brick packages (the newest registration of each name), with their sha256."""
    with session_scope() as s:
        return [BrickPackage.model_validate(p) for p in brickpkgs.current(s)]


@router.post("/brick-packages", tags=["bricks"], status_code=201, dependencies=[ADMIN],
             name="brick_packages.register")
async def register_brick_package(request: Request, name: str, version: str,
                                 format: str = Query("tar", description="wheel or tar (gzip or plain)")) -> BrickPackage:
    """Register a brick package: the request body is the archive (a wheel, or a tar of a blocks
    folder). Every agent fetches it and loads its bricks; the palette reloads here (admins only)."""
    body = io.BytesIO(await request.body())

    def register() -> dict:
        with session_scope() as s:
            return brickpkgs.register_stream(s, name=name, version=version, fmt=format, body=body)
    try:
        entry = await run_in_threadpool(register)
    except ValueError as exc:
        field, _, why = str(exc).partition(": ")
        raise unprocessable(f"/{field}", why) from exc
    brickpkgs.forget_generation()
    request.state.audit = {"version": entry["version"], "sha256": entry["sha256"]}  # the audit row's data
    await run_in_threadpool(get_registry, True)
    return BrickPackage.model_validate(entry)
