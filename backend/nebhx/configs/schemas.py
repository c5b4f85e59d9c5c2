"""What the config profile routes answer."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from nebhx.timestamps import Timestamp


class ProfileSummary(BaseModel):
    name: str
    revision: int
    updated_at: Timestamp | None
    parents: list[str]


class ProfileSaved(BaseModel):
    name: str
    revision: int
    changed: bool


class ProfileRevision(BaseModel):
    number: int
    created_at: Timestamp | None


class ProfileRead(BaseModel):
    name: str
    revision: int
    doc: dict[str, Any]
    revisions: list[ProfileRevision]


class Explained(BaseModel):
    """The final values for a host/cluster, each key with the layer that set it."""
    profile: str
    host: str | None
    cluster: str | None
    version: str
    layers: list[str]
    values: dict[str, Any]
    explain: dict[str, dict[str, Any]] = Field(description="Each final key (dotted path): the layer that set it "
                                               "(and its `source` when read from etcd: key and revision)")
    files: dict[str, str]
