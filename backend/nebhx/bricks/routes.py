from typing import Any

from fastapi import APIRouter

from nebhx.auth.deps import ADMIN, VIEWER
from nebhx.bricks.registry import get_registry

router = APIRouter(tags=["bricks"], dependencies=[VIEWER])


@router.get("/bricks")
def list_bricks() -> dict[str, Any]:
    """The palette: every brick with its ports and JSON Schemas, and load errors."""
    return get_registry().palette()


@router.post("/bricks/reload", dependencies=[ADMIN])
def reload_bricks() -> dict[str, Any]:
    """Re-read the block folders and entry points (new bricks appear without a restart)."""
    return get_registry(reload=True).palette()
