"""SQLAlchemy models: graphs and their revisions, runs, node states, events, hosts, secrets."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, overload

from enum import StrEnum

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from nebhx.statuses import EventStatus, NodeStatus, RunStatus


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@overload
def aware(dt: datetime) -> datetime: ...
@overload
def aware(dt: None) -> None: ...
def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt


def iso(dt: datetime | None) -> str | None:
    """A stored time as ISO 8601 with its UTC offset."""
    return None if dt is None else aware(dt).isoformat()


class StatusType(TypeDecorator):
    """A status (a ``StrEnum``) kept as its text in VARCHAR(16), as ever: read back as the
    member; a text that is no member is refused before it is written."""

    impl = String(16)
    cache_ok = True

    def __init__(self, enum: type[StrEnum]):
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value, dialect):
        return None if value is None else self.enum(value).value

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class GraphRow(Base):
    __tablename__ = "graphs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    latest_revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A graph nebhx itself stores to run something (nebhx rollback): its runs are listed like
    # any other, but it is no user's graph (not in the graph list, the palette or a name lookup).
    system: Mapped[bool] = mapped_column(Boolean, default=False)
    # Housekeeping: {"keep_runs": N, "keep_days": D}; unset, the server's defaults hold.
    retention: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class RevisionRow(Base):
    __tablename__ = "graph_revisions"
    graph_id: Mapped[str] = mapped_column(ForeignKey("graphs.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    graph_id: Mapped[str] = mapped_column(ForeignKey("graphs.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[RunStatus] = mapped_column(StatusType(RunStatus), default=RunStatus.RUNNING, index=True)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # What started the run when it was not a person: a webhook's trigger record (nebhx.triggers).
    trigger: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The user who started it (None: a trigger or schedule); an approval gate refuses their approval.
    started_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class NodeRow(Base):
    __tablename__ = "run_nodes"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    brick: Mapped[str] = mapped_column(String(200))
    status: Mapped[NodeStatus] = mapped_column(StatusType(NodeStatus), default=NodeStatus.PENDING)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    queue: Mapped[str | None] = mapped_column(String(200))
    host: Mapped[str | None] = mapped_column(String(200))
    # A fan-out instance points at its parent node and holds its item.
    parent: Mapped[str | None] = mapped_column(String(160))
    item_index: Mapped[int | None] = mapped_column(Integer)
    item: Mapped[Any] = mapped_column(JSON, nullable=True)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    log: Mapped[str] = mapped_column(Text, default="")
    wait: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    queued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]
    # The worker process (``WorkerRow.id``) that claimed the running attempt.
    claimed_by: Mapped[str | None] = mapped_column(String(300))
    __table_args__ = (Index("ix_run_nodes_status", "status"),)


class EventRow(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    node_id: Mapped[str | None] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[EventStatus | None] = mapped_column(StatusType(EventStatus))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class WorkerRow(Base):
    """A worker or agent process, alive while it beats: when it stops, the nodes it claimed
    are dispatched again at once instead of a lease later."""
    __tablename__ = "workers"
    id: Mapped[str] = mapped_column(String(300), primary_key=True)
    host: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class HostRow(Base):
    __tablename__ = "hosts"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Set by an admin (nebhx hosts label); an agent's re-register never touches them.
    admin_labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Agent labels an admin approved, key -> value (used when NEBHX_LABEL_APPROVAL=required).
    approved_labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[str] = mapped_column(String(50), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    services: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The agent's report of its volumes and their snapshots (nebhx.runtime.storage.report).
    volumes: Mapped[list[Any]] = mapped_column(JSON, default=list)


class SecretRow(Base):
    __tablename__ = "secrets"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProfileRow(Base):
    __tablename__ = "config_profiles"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditRow(Base):
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    address: Mapped[str | None] = mapped_column(String(64))


class UserRow(Base):
    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TokenRow(Base):
    """A bearer credential, stored hashed: an API token, a browser session or a host's agent token.

    The credential given out is ``nbx_<id>_<secret>``; only sha256(secret) is kept.
    """
    __tablename__ = "tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # api | session | host
    owner: Mapped[str] = mapped_column(String(200), index=True)  # a user name, or a host name
    name: Mapped[str] = mapped_column(String(200), default="")
    secret_hash: Mapped[str] = mapped_column(String(64))
    csrf: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class ArtifactRow(Base):
    """A build's output in the artifact store (nebhx.artifacts), content-addressed by sha256."""
    __tablename__ = "artifacts"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ux_artifacts_name_sha256", "name", "sha256", unique=True),)


class TriggerScheduleRow(Base):
    """A schedule trigger's progress (nebhx.triggers.schedule): the latest cron tick handled,
    in epoch seconds, taken by compare-and-set so no tick starts twice; skipped ticks."""
    __tablename__ = "trigger_schedules"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    graph_id: Mapped[str] = mapped_column(String(64))
    last_tick: Mapped[int] = mapped_column(BigInteger)
    last_run_id: Mapped[str | None] = mapped_column(String(64))
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    last_skip_reason: Mapped[str | None] = mapped_column(Text)
    last_skip_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TriggerDeliveryRow(Base):
    """A webhook delivery a trigger took (nebhx.triggers.signatures): the same one again is a replay."""
    __tablename__ = "trigger_deliveries"
    trigger: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class IpPoolRow(Base):
    """An address pool (IPAM): a CIDR whose addresses net.allocate hands out, one per owner."""
    __tablename__ = "ip_pools"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    cidr: Mapped[str] = mapped_column(String(64))
    # Addresses never handed out (a gateway, a router), as text.
    reserved: Mapped[list[Any]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IpAllocationRow(Base):
    """One address of a pool held by one owner. The primary key (pool, offset) is what makes
    a double allocation impossible, whichever process or database does the inserting."""
    __tablename__ = "ip_allocations"
    pool: Mapped[str] = mapped_column(String(100), ForeignKey("ip_pools.name", ondelete="CASCADE"),
                                      primary_key=True)
    offset: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # from the network address
    address: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(300))
    run_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("pool", "owner", name="uq_ip_allocations_pool_owner"),)
