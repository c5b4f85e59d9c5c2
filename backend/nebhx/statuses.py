"""The words of a run's life: run and node statuses and trigger rules.

One vocabulary for the engine, the stored rows, the API models (so the OpenAPI schema lists
them, and the editor's generated types are these unions) and graph documents. They are
``StrEnum``: each member equals its text, so stored rows and JSON compare as plain strings.
This module imports nothing of nebhx: every layer may use it.
"""
from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """A run: running until every node ended, then how it ended."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class NodeStatus(StrEnum):
    """A node of a run: pending until its trigger rule holds, queued for a worker or agent,
    running, waiting (for an approval), then one of the four ends."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class EventStatus(StrEnum):
    """What an event of a run says: a node's or run's new status, or a step on the way
    (an attempt lost, a retry coming, a cancel under way)."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    LOST = "lost"
    RETRYING = "retrying"
    CANCELLING = "cancelling"


class TriggerRule(StrEnum):
    """When a node may start, given how its upstream nodes ended."""

    ALL_SUCCESS = "all_success"
    ALL_DONE = "all_done"
    ANY_FAILED = "any_failed"
    ALL_FAILED = "all_failed"
    ALWAYS = "always"


TERMINAL = frozenset({NodeStatus.SUCCEEDED, NodeStatus.FAILED, NodeStatus.SKIPPED, NodeStatus.CANCELLED})
ACTIVE = frozenset({NodeStatus.QUEUED, NodeStatus.RUNNING, NodeStatus.WAITING})
