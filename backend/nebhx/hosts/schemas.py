"""What the host routes answer."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nebhx.auth.schemas import HostJoin as HostJoin  # auth makes join tokens; hosts answers them
from nebhx.bricks.inventory import LabelKey
from nebhx.timestamps import Timestamp


class HostRead(BaseModel):
    """A registered host: its labels (each from the agent or an admin) and whether it is up."""
    name: str
    address: str | None
    labels: dict[str, Any] = Field(description="What selectors match: the agent's, overlaid by the admin's")
    label_sources: dict[str, Literal["admin", "agent"]]
    agent_labels: dict[str, Any] = Field(description="What its agent declares, held labels included")
    held_labels: dict[str, Literal["reserved", "unapproved"]] = Field(
        description="Agent labels selectors do not see: an identity key only an admin sets, or one "
                    "waiting for an admin's approval (NEBHX_LABEL_APPROVAL=required)")
    version: str | None
    state: Literal["up", "down"]
    last_seen: Timestamp | None
    started_at: Timestamp | None


class ServiceRead(BaseModel):
    """One service instance on one host as its agent last saw it (agents report more fields)."""
    model_config = ConfigDict(extra="allow")
    host: str
    host_state: Literal["up", "down"]
    seen_at: Timestamp | None


class ServiceLockRead(BaseModel):
    """A run's hold on a service instance of a host (a row left by a run that ended holds
    nothing and is swept)."""
    host: str
    service: str
    instance: str = Field(description="Empty for the default instance")
    run_id: str
    node_id: str
    since: Timestamp | None


class Approval(BaseModel):
    """Which of the labels a host's agent declares an admin approves."""
    keys: list[LabelKey] | None = Field(default=None, max_length=100,
                                        description="The labels to approve (default: every one it declares)")


class HostDeleted(BaseModel):
    host: str
    revoked_tokens: list[str] = Field(description="Ids of the agent's tokens revoked with it")
    broker_user_removed: bool = Field(default=False, description="Its broker credential (Redis ACL user) and "
                                      "queue deleted: false with the embedded broker, or when the broker "
                                      "could not be reached (logged)")
