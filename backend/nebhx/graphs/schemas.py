"""What the graph routes answer (their requests are graph documents: nebhx.graph_model)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nebhx.limits import PARAM_MAX, REVISION_MAX
from nebhx.timestamps import Timestamp


class Problem(BaseModel):
    """A problem found in a graph document: what, where (node, port, JSON pointer) and why."""
    code: str
    message: str
    node: str | None
    port: str | None
    path: str = Field(description="A JSON pointer into the document")


class ProblemList(BaseModel):
    """A 422 answer: every problem of the request (a graph document's, its inputs', a parameter's)."""
    detail: list[Problem]


class Problems(BaseModel):
    ok: bool
    problems: list[Problem]


class GraphSummary(BaseModel):
    id: str
    name: str
    latest_revision: int
    updated_at: Timestamp


class RevisionInfo(BaseModel):
    number: int
    created_at: Timestamp


class GraphRead(BaseModel):
    """A stored graph and the list of its revisions."""
    id: str
    name: str
    latest_revision: int
    revisions: list[RevisionInfo]
    retention: dict[str, Any] | None = Field(default=None, description=(
        "The graph's own retention (keep_runs, keep_days); null: the server's defaults"))


class GraphSaved(BaseModel):
    """The revision a save or import made."""
    id: str
    name: str
    revision: int


class PlanRequest(BaseModel):
    graph: dict[str, Any] | None = Field(default=None, description="A graph document to plan")
    graph_id: str | None = Field(default=None, min_length=1, max_length=PARAM_MAX, description="Or a stored graph")
    revision: int | None = Field(default=None, ge=1, le=REVISION_MAX, description="Default: the latest")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Run inputs; a missing one stays unknown")


class PlanEntry(BaseModel):
    """One node's plan (or one fan-out item's, or a composite's inner node's); a brick's plan may
    add fields."""
    model_config = ConfigDict(extra="allow")
    brick: str | None = None
    effect: str = ""
    changes: bool | None = Field(default=None, description="Would it change something? null: cannot tell")
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: Any = None
    host: Any = None
    when: str | None = Field(default=None, description="Set when the node runs only on failure upstream")
    items: list[PlanItem] = Field(default_factory=list, description="A fan-out's items with their batch")
    batches: int | None = None
    batch: int | str | None = Field(default=None, description="A fan-out's batch setting; an item's batch number")
    max_parallel: int | None = None
    pause_s: float | None = None
    max_failures: int | None = None
    children: dict[str, PlanEntry] = Field(default_factory=dict, description="A composite's inner nodes by run id")
    graph: str | None = Field(default=None, description="A composite: its graph id")
    revision: int | None = None


class PlanItem(PlanEntry):
    id: str
    item: Any = None
    batch: int = Field(description="The batch the item runs in, from 1")


class PlanRead(BaseModel):
    """What a run would do, per node; nothing was changed."""
    model_config = ConfigDict(extra="allow")
    graph: str
    nodes: dict[str, PlanEntry]
    elapsed_s: float


PlanEntry.model_rebuild()


class NodeBrick(BaseModel):
    id: str
    brick: str | None = None


class FieldChange(BaseModel):
    field: str = Field(description="brick, params.<name>, or an execution setting (trigger, retries...)")
    before: Any = None
    after: Any = None


class NodeChange(BaseModel):
    id: str
    brick: str | None = None
    changes: list[FieldChange]


class NodesDiff(BaseModel):
    added: list[NodeBrick]
    removed: list[NodeBrick]
    changed: list[NodeChange]
    moved: list[str] = Field(description="Nodes only moved on the canvas (no effect on a run)")


class EdgesDiff(BaseModel):
    added: list[str] = Field(description='Wires as "node.port -> node.port" (order-only: "node -> node")')
    removed: list[str]


class NamedChange(BaseModel):
    name: str
    before: Any = None
    after: Any = None


class KeyedDiff(BaseModel):
    added: list[str]
    removed: list[str]
    changed: list[NamedChange]


class GraphDiff(BaseModel):
    """What changed from revision ``from`` to revision ``to``; secrets by reference only."""
    model_config = ConfigDict(populate_by_name=True)
    graph: str
    from_: int = Field(alias="from")
    to: int
    same: bool
    name: dict[str, Any] | None = None
    nodes: NodesDiff
    edges: EdgesDiff
    inputs: KeyedDiff
    outputs: KeyedDiff
    run: str | None = None
    previous_run: str | None = Field(default=None, description="A run's diff: the run it is compared with")


class Retention(BaseModel):
    """How many runs of a graph housekeeping keeps: the last keep_runs, or those of the last
    keep_days days, whichever keeps more. Either set: these replace the server's defaults (a null
    one sets no limit of its kind); both null: the server's defaults hold again."""
    model_config = ConfigDict(extra="forbid")
    keep_runs: int | None = Field(default=None, ge=1, le=1_000_000)
    keep_days: float | None = Field(default=None, gt=0, le=36_500)


class GraphDeleted(BaseModel):
    graph: str
    name: str
    revisions: int
    runs: int = Field(description="Runs deleted with it (their nodes, logs and events too)")
    secrets: int = Field(description="Secrets its Secret inputs' defaults were sealed into, deleted")


class GcResult(BaseModel):
    """What housekeeping deleted (or, with dry_run, would delete), by graph."""
    dry_run: bool
    deleted: int
    graphs: dict[str, list[str]] = Field(description="Run ids by graph id, oldest first")
