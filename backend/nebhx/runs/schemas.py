from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from nebhx.limits import PARAM_MAX, REVISION_MAX
from nebhx.statuses import EventStatus, NodeStatus, RunStatus
from nebhx.timestamps import Timestamp


class RunCreate(BaseModel):
    graph_id: str | None = Field(default=None, min_length=1, max_length=PARAM_MAX, description="A stored graph")
    revision: int | None = Field(default=None, ge=1, le=REVISION_MAX, description="Default: the latest")
    graph: dict[str, Any] | None = Field(default=None, description="Or a graph document, stored first")
    inputs: dict[str, Any] = Field(default_factory=dict)


class Decision(BaseModel):
    by: str | None = Field(default=None, max_length=200,
                           description="Ignored: the approver is always the signed-in user")
    comment: str = Field(default="", max_length=2000)


class WaitDecision(BaseModel):
    approved: bool
    by: str
    at: str
    comment: str = ""


class NodeWait(BaseModel):
    """Why a node waits (an approval gate) and the decision once taken; a brick may add fields."""
    model_config = ConfigDict(extra="allow")
    reason: str | None = None
    timeout_s: float | None = None
    decision: WaitDecision | None = None


class NodeRead(BaseModel):
    """A node of a run (secrets masked in inputs and outputs); times are ISO 8601 in UTC."""
    status: NodeStatus
    attempt: int
    brick: str | None = None
    host: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    error: str | None
    wait: NodeWait | None = None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    duration_s: float | None
    items: list[NodeItem] = Field(default_factory=list, description="A fan-out's instances, in item order")
    children: list[NodeChild] = Field(default_factory=list, description="A composite's inner nodes")


class NodeChild(NodeRead):
    id: str


class NodeItem(NodeChild):
    """One instance of a fan-out node: id "web[0]", the item it ran for, and its own state."""
    item: Any = None


class RunSummary(BaseModel):
    id: str
    graph_id: str | None
    graph_name: str | None
    revision: int | None
    status: RunStatus
    error: str | None
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    trigger: dict[str, Any] | None = Field(description="What started it; null: a person or client")


class RunRead(RunSummary):
    """A run with its inputs, outputs (secrets masked) and every top-level node by id."""
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    nodes: dict[str, NodeRead]


class _Event(BaseModel):
    # Every field is always sent (a default too): the schema says so.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)
    id: int
    run_id: str
    node: str | None = Field(description="null for an event of the run itself")
    kind: str
    status: EventStatus | None = Field(description="A node's or run's status, or a step such as cancelling")
    at: Timestamp | None
    data: dict[str, Any]


class RunStateEvent(_Event):
    """A change of the run itself: its status, or a step such as cancelling."""
    node: None = Field(default=None, description="Always null: the event is the run's")
    kind: Literal["run"] = "run"


class NodeEvent(_Event):
    """A change of one node: its status (with its attempt, queue or error in ``data``)."""
    node: str = Field(description="The node's id")
    kind: Literal["node"] = "node"


class LogEvent(_Event):
    """A node wrote to its log (GET .../nodes/{node_id}/log reads it)."""
    node: str | None = Field(description="The node whose log grew")
    kind: Literal["log"] = "log"


class RunEvent(RootModel[Annotated[RunStateEvent | NodeEvent | LogEvent, Field(discriminator="kind")]]):
    """One change of a run, as GET /api/runs/{run_id}/events streams it (one per ``data:`` line),
    a model per kind."""


NodeRead.model_rebuild()
