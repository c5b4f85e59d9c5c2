"""What the trigger routes answer (a trigger's secret by name only, never its value)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nebhx.statuses import RunStatus
from nebhx.timestamps import Timestamp


class TriggerRun(BaseModel):
    """A run a trigger started."""
    id: str
    status: RunStatus
    created_at: Timestamp | None
    commit: str | None = None
    ref: str | None = None


class TriggerRead(BaseModel):
    """A trigger a graph declares (meta.triggers), with the runs it started last."""
    model_config = ConfigDict(extra="allow")
    name: str
    kind: str = Field(description="webhook, schedule or etcd")
    graph_id: str
    graph_name: str
    schedule: dict[str, Any] | None = Field(default=None, description="A schedule's cron, next tick, skipped ticks")
    etcd: dict[str, Any] | None = Field(default=None, description="An etcd trigger's endpoint, key prefix, "
                                        "last revision taken and the run it started")
    secret: str | None = Field(default=None, description="The name of the stored secret that signs its pushes")
    repository: str | None = None
    refs: Any = None
    inputs: dict[str, Any] = Field(default_factory=dict, description="Graph input <- push field")
    runs: list[TriggerRun] = Field(default_factory=list)


class TriggerFired(BaseModel):
    """What a signed push did: the run it started, or why it started none."""
    model_config = ConfigDict(extra="allow")
    started: bool
    run_id: str | None = None
    graph_id: str | None = None
    inputs: dict[str, Any] | None = None
    reason: str | None = None
    trigger: dict[str, Any] = Field(description="The push as recorded on the run: name, commit, ref...")


class RunTrigger(BaseModel):
    run_id: str
    trigger: dict[str, Any] | None = Field(description="null when a person or a client started the run")
