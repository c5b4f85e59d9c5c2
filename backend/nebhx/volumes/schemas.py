"""What the volumes routes take and answer."""
from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nebhx.timestamps import Timestamp

VOLUME_URL = r"^[a-z][a-z0-9_-]{0,31}://[^/\s]+/\S*$"
SNAPSHOT = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


class OnHost(BaseModel):
    host: str = Field(min_length=1, max_length=200)
    volume_url: str = Field(max_length=1000, pattern=VOLUME_URL, description="<driver>://<host>/<path>")

    @model_validator(mode="after")
    def _same_host(self) -> OnHost:
        if urlsplit(self.volume_url).netloc != self.host:
            raise ValueError(f"volume_url {self.volume_url} is a volume of host "
                             f"{urlsplit(self.volume_url).netloc!r}, not of {self.host!r}")
        return self


class DeleteSnapshotBody(OnHost):
    snapshot: str = Field(max_length=100, pattern=SNAPSHOT)


class PruneBody(OnHost):
    keep_last: int | None = Field(default=None, ge=0, le=10000, description="Keep the newest N snapshots")
    keep_days: float | None = Field(default=None, ge=0, le=36500, description="Keep snapshots younger than this")


class RetentionRule(BaseModel):
    keep_last: int | None = None
    keep_days: float | None = None


class SnapshotEntry(BaseModel):
    """One snapshot of a volume, as its host's agent reported it."""
    model_config = ConfigDict(extra="allow")
    id: str
    created_at: float | None = None
    kind: str | None = Field(default=None, description="manual, pre-rollout, pre-restore...")
    size: int | None = Field(default=None, description="Bytes it holds, as its driver counts them")
    release: str | None = Field(default=None, description="The release whose data it holds")
    path: str | None = None


class VolumeRow(BaseModel):
    """One volume on one host with its snapshots, as the host's agent last reported it."""
    model_config = ConfigDict(extra="allow")
    host: str
    host_state: str
    seen_at: Timestamp | None
    name: str
    driver: str
    url: str
    path: str | None = None
    used: int | None = Field(default=None, description="Bytes its data takes now")
    capacity: int | None = Field(default=None, description="Its limit (quota, LV size, pool size), if any")
    retention: RetentionRule | None = None
    error: str | None = Field(default=None, description="Why the agent could not read it")
    snapshots: list[SnapshotEntry]
