"""What an attempt takes and gives back: the ``Claim`` (inputs unsealed, the plain values of
the node's secrets) and the ``Outcome``, and the ``Execution`` that hands out one and takes
the other (the store's on the control plane, the execution API's on an agent)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from nebhx.statuses import NodeStatus

PLAIN = "$plain"  # a Secret output on its way to be sealed by whoever holds the key


@dataclass
class Claim:
    run_id: str
    node_id: str
    attempt: int
    brick: str
    timeout_s: float | None = None
    host: str | None = None  # the host this node was routed to
    inputs: dict[str, Any] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    error: str | None = None  # preparing it failed: the node fails with this reason


@dataclass
class Outcome:
    status: NodeStatus  # succeeded, failed, cancelled or waiting
    outputs: dict[str, Any] | None = None
    error: str | None = None
    wait: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    log: str = ""


class Execution(Protocol):
    def claim(self, run_id: str, node_id: str, attempt: int) -> Claim | None: ...
    def renew(self, claim: Claim, log_chunk: str) -> bool: ...
    def finish(self, claim: Claim, outcome: Outcome) -> bool: ...
    def lock(self, claim: Claim, key: dict[str, str]) -> dict[str, Any] | None: ...
