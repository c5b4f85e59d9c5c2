"""The graph document, format ``nebhx/graph@1``.

Nodes hold a brick id, hand-set params and a canvas position. An edge with ports is a
data edge (an output feeds an input); an edge without ports orders two nodes only.
A param may reference a graph input as ``{"$input": "name"}`` or a stored secret as
``{"$secret": "name"}``; so may a Secret graph input's default (never a plain value once saved).
"""
from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, WithJsonSchema, field_validator

from nebhx.limits import MAX_EDGES, MAX_NODES
from nebhx.statuses import TriggerRule

FORMAT = "nebhx/graph@1"
# "[" and "]" are kept for fan-out instances: node "web" runs items "web[0]", "web[1]"...
ID_PATTERN = r"^[^\s$@\[\]][^\s\[\]]{0,127}$"
# A fan-out batch: a count, or a percentage of the items (rounded up, at least one item).
BATCH = re.compile(r"^(?:(?P<count>[0-9]{1,9})|(?P<percent>[0-9]{1,3}(?:\.[0-9]{1,3})?)%)$")


def portion(spec: int | str, total: int) -> int:
    """How many of ``total`` items a count or a percentage (``"10%"``) takes: rounded up,
    at least 1 of a non-empty list, never more than ``total``."""
    m = BATCH.match(str(spec))
    if m is None:
        raise ValueError(f'expected a count or a percentage like "10%", not {spec!r}')
    want = int(m["count"]) if m["count"] else math.ceil(total * Decimal(m["percent"]) / 100)
    return min(max(want, 1 if total else 0), total)


def check_portion(value: int | str, what: str) -> int | str:
    """``value`` if it is a count of at least 1 or a percentage over 0% up to 100%."""
    m = BATCH.match(str(value)) if not isinstance(value, bool) else None
    if m is None or (m["count"] and int(m["count"]) < 1) or (
            m["percent"] and not 0 < Decimal(m["percent"]) <= 100):
        raise ValueError(f'{what} must be a count of at least 1 or a percentage over 0% up to 100% '
                         f'(e.g. 2 or "10%"), not {value!r}')
    return value


Batch = Annotated[StrictInt | StrictStr | None, WithJsonSchema({"anyOf": [
    {"type": "integer", "minimum": 1},
    {"type": "string", "pattern": r"^(?:[0-9]{1,9}|[0-9]{1,3}(?:\.[0-9]{1,3})?%)$"}, {"type": "null"}]})]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Position(_Model):
    x: float
    y: float


class Node(_Model):
    id: str = Field(pattern=ID_PATTERN, description="Unique within the graph")
    brick: str = Field(min_length=1, max_length=200, description="Brick id, e.g. core.template")
    params: dict[str, Any] = Field(default_factory=dict, description="Hand-set inputs")
    position: Position | None = None
    label: str | None = Field(default=None, max_length=200)
    trigger: TriggerRule = TriggerRule.ALL_SUCCESS
    retries: int = Field(default=0, ge=0, le=20)
    timeout_s: float | None = Field(default=None, gt=0, le=7 * 24 * 3600)
    for_each: str | None = Field(default=None, description=(
        "Name of a list-typed input: the node runs once per item of that list"))
    # Batched fan-out (for_each only). Unset, every item starts at once.
    batch: Batch = Field(default=None, description=(
        'for_each: items per batch, a count or a percentage like "10%" (rounded up, at least 1); '
        "a batch starts when the previous one has ended"))
    max_parallel: int | None = Field(default=None, ge=1, description="for_each: items running at once")
    pause_s: float | None = Field(default=None, ge=0, le=7 * 24 * 3600, description=(
        "for_each: seconds to wait between batches (no worker is held meanwhile)"))
    max_failures: int | None = Field(default=None, ge=0, description=(
        "for_each: once more items than this failed, no further batch starts (the rest are skipped)"))

    @field_validator("batch")
    @classmethod
    def _batch(cls, value: int | str | None) -> int | str | None:
        return value if value is None else check_portion(value, "batch")


class PortRef(_Model):
    node: str
    port: str


class NodeRef(_Model):
    node: str
    port: None = None


class Edge(_Model):
    from_: PortRef | NodeRef = Field(alias="from")
    to: PortRef | NodeRef

    @property
    def is_data(self) -> bool:
        return self.from_.port is not None or self.to.port is not None


class GraphInput(_Model):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
    type: str = Field(default="string", description="Port type, e.g. string, integer, Url, Secret")
    required: bool = True
    default: Any = Field(default=None, description=(
        'A Secret input\'s default is a stored secret, {"$secret": "name"}; a plain string sent '
        'as its default is stored as secret graph.<graph id>.<input name> and replaced by that reference'))
    description: str = ""


class GraphOutput(_Model):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
    from_: PortRef = Field(alias="from")


class Graph(_Model):
    format: Literal["nebhx/graph@1"] = Field(description="Format and version of this document")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    inputs: list[GraphInput] = Field(default_factory=list)
    outputs: list[GraphOutput] = Field(default_factory=list)
    nodes: list[Node] = Field(default_factory=list, max_length=MAX_NODES)
    edges: list[Edge] = Field(default_factory=list, max_length=MAX_EDGES)
    meta: dict[str, Any] = Field(default_factory=dict, description="Free data kept for the editor")
    includes: dict[str, dict[str, Any]] = Field(default_factory=dict, description=(
        "In an export: the document of each composite the graph uses (directly or nested), by "
        "'<graph id>@<revision>'; importing stores them and drops this (a saved revision never has it)"))


def graph_json_schema() -> dict[str, Any]:
    schema = Graph.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://nebhx.dev/schema/graph@1.json"
    schema["title"] = "Nebh-X graph (nebhx/graph@1)"
    return schema
