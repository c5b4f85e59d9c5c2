"""The palette as the API answers it: every loaded brick, and the stored graphs offered as
composite bricks beside them (``nebhx.engine.library``; the registry itself knows no store)."""
from __future__ import annotations

from nebhx.bricks.registry import get_registry
from nebhx.bricks.schemas import Palette
from nebhx.engine.library import palette_entries


def read_palette(*, reload: bool = False) -> Palette:
    """The palette; ``reload``: re-read the block folders and entry points first."""
    return Palette.model_validate(get_registry(reload=reload).palette(palette_entries))
