"""The palette routes: every loaded brick, and the stored graphs offered as composite bricks
beside them (so they live above the bricks, with the graphs)."""
from fastapi import APIRouter

from nebhx.auth.deps import ADMIN, VIEWER
from nebhx.bricks.schemas import Palette
from nebhx.graphs.palette import read_palette

router = APIRouter(tags=["bricks"], dependencies=[VIEWER])
# Keys a brick does not have (a composite's revision and ref) stay out rather than come as null.
AS_IS = {"response_model_exclude_unset": True}


@router.get("/bricks", **AS_IS)
def list_bricks() -> Palette:
    """The palette: every brick with its ports and JSON Schemas, and load errors."""
    return read_palette()


@router.post("/bricks/reload", dependencies=[ADMIN], **AS_IS)
def reload_bricks() -> Palette:
    """Re-read the block folders and entry points (new bricks appear without a restart)."""
    return read_palette(reload=True)
