from fastapi import APIRouter, Query, Request

from nebhx.store.deps import DbSession
from nebhx.auth.deps import OPERATOR, VIEWER
from nebhx.runs import service as runs
from nebhx.runs.schemas import RunRead
from nebhx.volumes import service
from nebhx.volumes.schemas import DeleteSnapshotBody, PruneBody, VolumeRow

router = APIRouter(tags=["volumes"], dependencies=[VIEWER])


@router.get("/volumes")
def list_volumes(s: DbSession, host: str | None = Query(None, max_length=200, description="Only this host"),
                 volume: str | None = Query(None, max_length=1000, description="Only this volume (name or URL)")
                 ) -> list[VolumeRow]:
    """Volumes per host with usage, retention and snapshots, as the agents last reported them."""
    return service.list_volumes(s, host=host, volume=volume)


@router.post("/volumes/snapshots/delete", status_code=201, dependencies=[OPERATOR], response_model_exclude_unset=True)
def delete_snapshot(body: DeleteSnapshotBody, request: Request, s: DbSession) -> RunRead:
    """Start a run of storage.delete_snapshot on the volume's host (operator); answers the run."""
    request.state.audit = body.model_dump()
    run_id = service.start_delete(s, **body.model_dump())
    return runs.get_run(s, run_id=run_id)


@router.post("/volumes/prune", status_code=201, dependencies=[OPERATOR], response_model_exclude_unset=True)
def prune(body: PruneBody, request: Request, s: DbSession) -> RunRead:
    """Start a run of storage.prune on the volume's host (operator); answers the run."""
    request.state.audit = body.model_dump()
    run_id = service.start_prune(s, **body.model_dump())
    return runs.get_run(s, run_id=run_id)
