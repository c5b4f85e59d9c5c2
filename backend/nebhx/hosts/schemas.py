"""What the host routes answer."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class HostRead(BaseModel):
    """A registered host: its labels (each from the agent or an admin) and whether it is up."""
    name: str
    address: str | None
    labels: dict[str, Any] = Field(description="What selectors match: the agent's, overlaid by the admin's")
    label_sources: dict[str, Literal["admin", "agent"]]
    agent_labels: dict[str, Any]
    version: str | None
    state: Literal["up", "down"]
    last_seen: str | None
    started_at: str | None


class HostJoin(BaseModel):
    """A new host's join token and the command that starts its agent: the only time it is shown."""
    name: str
    token: str
    command: str


class ServiceRead(BaseModel):
    """One service instance on one host as its agent last saw it (agents report more fields)."""
    model_config = ConfigDict(extra="allow")
    host: str
    host_state: Literal["up", "down"]
    seen_at: str | None
