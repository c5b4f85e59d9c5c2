"""What the releases routes take and answer."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nebhx.timestamps import Timestamp

NAME = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"


class RollbackBody(BaseModel):
    host: str | None = Field(default=None, min_length=1, max_length=200, description="One host")
    hosts: list[str] = Field(default_factory=list, max_length=1000,
                             description="Several hosts: one run, `batch` at a time")
    run: str | None = Field(default=None, min_length=1, max_length=64, description="Roll back what "
                            "this run switched: its hosts only (default hosts: every host reporting "
                            "the service); the others are left alone")
    service: str = Field(max_length=200, pattern=NAME)
    instance: str = Field(default="", max_length=200, pattern=r"^[A-Za-z0-9_.-]*$")
    data_policy: Literal["keep_new", "restore_snapshot"] = "keep_new"
    lb_name: str = Field(default="", max_length=64, description="HAProxy balancer on that host, if any")
    lb_stats: str = Field(default="", max_length=200, description="A balancer on its own host: its "
                          "stats address (with lb_agent_port)")
    lb_agent_port: int | None = Field(default=None, ge=1, le=65535)
    batch: int = Field(default=1, ge=1, le=1000, description="Hosts rolled back at once")
    release: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+:-]*$",
                                description="Go back to this staged release (its id, or 8+ hex digits of its "
                                "sha256 or build commit) instead of the one before the last switch: any earlier "
                                "release still on the host, pinned ones too; refused when it is gone or runs now")

    @model_validator(mode="after")
    def _some_host(self) -> RollbackBody:
        if not (self.host or self.hosts or self.run):
            raise ValueError("give host, hosts or run")
        return self


class ReleaseEntry(BaseModel):
    """One staged release of a service instance, as its host's agent reported it."""
    model_config = ConfigDict(extra="allow")
    id: str
    staged_at: float | None = None
    active: bool | None = None
    previous: bool | None = None
    prepared: bool | None = None
    pinned: bool | None = None
    committed_at: float | None = None
    rolled_back: bool | None = None
    commit: str | None = None
    build_run: str | None = None
    image: str | None = Field(default=None, description="oci:NAME@sha256:DIGEST of a container release")


class Health(BaseModel):
    ok: bool | None = None
    error: str | None = None
    at: float | str | None = None


class LivenessView(BaseModel):
    """What the host's liveness watcher says of an instance with a liveness probe."""
    status: str | None = Field(default=None, description="pending, alive, failing, restarting, unhealthy or stopped")
    since: str | None = None
    restarts: int | None = Field(default=None, description="Restarts by the watcher since the service was started")
    restarts_in_row: int | None = None
    last_probe: Health | None = None
    notified: dict | None = Field(default=None, description="The last alert: what, when, and an error if it failed")


class ReleaseRow(BaseModel):
    """One service instance on one host, as its agent last reported it (agents may add fields)."""
    model_config = ConfigDict(extra="allow")
    host: str
    host_state: str
    seen_at: Timestamp | None
    service: str | None
    instance: str | None
    program: str | None
    active: str | None
    previous: str | None
    prepared: str | None
    config_version: str | None
    state: str | None
    pid: int | None
    runtime: str | None = Field(default=None, description="process, podman or docker")
    image: str | None = Field(default=None, description="The image a container instance runs (with digest)")
    health: Health
    liveness: LivenessView | None = None
    phase: str | None
    error: str | None
    releases: list[ReleaseEntry]


class RunLink(BaseModel):
    """A stored run's node that did a link of the chain."""
    id: str
    node: str
    brick: str
    finished_at: Timestamp | None = None
    graph: str | None = None
    graph_name: str | None = None
    revision: int | None = None
    started_by: str | None = None
    trigger: dict[str, Any] | None = None


class GateDecision(BaseModel):
    node: str
    status: str
    approved: bool | None = None
    by: list[str | None] = Field(description="Who approved (every approver of an N-of-M gate) or rejected")
    comments: list[str]
    at: str | None = None


class Before(BaseModel):
    release: str | None = None
    pid: int | None = None
    switched_by: RunLink | None = None


class WhyRead(BaseModel):
    """Why this process runs here: process, release, config (with explain), data, the run and
    graph revision that switched it, who approved, what was there before. A link not found is
    null (or has ``missing``)."""
    model_config = ConfigDict(extra="allow")
    host: str
    service: str
    instance: str | None = None
    seen_at: Timestamp | None = None
    process: dict[str, Any]
    release: dict[str, Any]
    config: dict[str, Any]
    data: dict[str, Any]
    switched_by: RunLink | None = None
    approvals: list[GateDecision]
    before: Before
    missing: str | None = None


class PinBody(BaseModel):
    host: str = Field(min_length=1, max_length=200)
    service: str = Field(max_length=200, pattern=NAME)
    release: str = Field(max_length=200, pattern=NAME)
    pinned: bool = Field(default=True, description="true: pin (never pruned); false: unpin")


class PinRead(BaseModel):
    release: str
    pinned: bool


class LogStream(BaseModel):
    text: str = Field(description="The new text since the offset asked (secrets masked)")
    offset: int = Field(description="Ask from here next time to follow the log")
    skipped: int = Field(default=0, description="Bytes left out: more came than one answer holds")


class LogRead(BaseModel):
    host: str
    service: str
    instance: str | None = None
    program: str
    streams: dict[str, LogStream] = Field(description="out and err")


class HistoryEntry(BaseModel):
    """One switch of a service instance on a host, by a stored run."""
    at: Timestamp | None
    to: str | None = Field(alias="to")
    from_: str | None = Field(default=None, alias="from")
    brick: str
    run: RunLink
    model_config = ConfigDict(populate_by_name=True)
