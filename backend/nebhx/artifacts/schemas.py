"""What the artifact routes answer."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from nebhx.timestamps import Timestamp


class ArtifactRead(BaseModel):
    """A stored build artifact and where it came from."""
    name: str
    sha256: str
    size: int
    provenance: dict[str, Any] = Field(description="What built it: commit, build run...")
    created_at: Timestamp | None
    source: str = Field(description="How a release names it as its source")


class BrickPackage(BaseModel):
    """A registered brick package: what agents fetch, pinned by the sha256 of its archive."""
    name: str
    version: str
    format: str = Field(description="wheel or tar")
    sha256: str
    size: int
    created_at: Timestamp | None
