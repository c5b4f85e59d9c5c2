from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from nebhx.bricks.inventory import LabelKey, LabelValue
from nebhx.limits import bad_characters


def _plain(value: str) -> str:
    # Ids, names and addresses end up in text columns (PostgreSQL refuses NUL) and on screens.
    if why := bad_characters(value):
        raise ValueError(why)
    return value


Plain = Annotated[str, AfterValidator(_plain)]
RunId = Field(min_length=1, max_length=64)
NodeId = Field(min_length=1, max_length=160)


class NodeRef(BaseModel):
    run_id: Plain = RunId
    node_id: Plain = NodeId
    attempt: int = Field(ge=1, le=1_000_000)


class ClaimIn(NodeRef):
    worker: Plain | None = Field(default=None, max_length=100, description="The agent process claiming it")


class Alive(BaseModel):
    worker: Plain = Field(min_length=1, max_length=100)


class ClaimRead(NodeRef):
    brick: str
    timeout_s: float | None = None
    host: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    secrets: list[str] = Field(default_factory=list, description="Values to mask in what the node reports")
    error: str | None = None
    brick_packages: str | None = Field(default=None, description="The generation of the current brick "
                                       "packages: an agent that synced another one fetches them before the node")


class Renew(NodeRef):
    log: str = Field(default="", max_length=1_000_000)


class LockKey(BaseModel):
    host: str = Field(max_length=200)
    service: str = Field(min_length=1, max_length=200)
    instance: str = Field(default="", max_length=200)


class LockIn(NodeRef):
    key: LockKey


class LockOut(BaseModel):
    holder: dict[str, Any] | None = Field(description="Who holds the lock; null: this run holds it now")


class Renewed(BaseModel):
    alive: bool


class OutcomeIn(BaseModel):
    status: Literal["succeeded", "failed", "waiting", "cancelled"]
    outputs: dict[str, Any] | None = None
    error: str | None = Field(default=None, max_length=100_000)
    wait: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    log: str = Field(default="", max_length=1_000_000)


class Finish(NodeRef):
    outcome: OutcomeIn


class Register(BaseModel):
    address: Plain = Field(default="", max_length=200)
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=100)
    version: Plain = Field(default="", max_length=50)


class Beat(BaseModel):
    services: list[dict[str, Any]] | None = None
    volumes: list[dict[str, Any]] | None = Field(default=None, description="The host's volumes and snapshots")


class Hello(BaseModel):
    host: str
    broker_url: str | None = Field(description="The broker agents use; null when the server's is embedded")
    heartbeat_s: float
    lease_s: float
