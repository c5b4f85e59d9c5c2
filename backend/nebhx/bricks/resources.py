"""What a brick reaches the world through: ``ctx.runtime``, ``ctx.inventory``, ``ctx.artifacts``,
``ctx.profiles`` and ``ctx.pools``, as typed resources (Dagster-style).

The framework builds them once for the process it runs in (``nebhx.process``): a database
form on the control plane, an HTTP form on agents, so no brick and no runtime module imports
the store, a domain or the engine. A brick test passes its own to ``Context`` or installs
``nebhx.process``'s. This module imports nothing of nebhx at run time.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

if TYPE_CHECKING:
    from nebhx.bricks.inventory import Inventory
    from nebhx.runtime import HostRuntime


class Artifacts(Protocol):
    """The control plane's artifact store, as a brick sees it."""

    def fetch(self, *, name: str | None, sha256: str, into: BinaryIO) -> dict[str, Any]:
        """The artifact's record, its bytes written to ``into``; LookupError when unknown."""

    def record(self, *, name: str, path: Path, provenance: dict[str, Any]) -> dict[str, Any]:
        """Store the file at ``path`` as artifact ``name`` with its provenance; the record."""


class Profiles(Protocol):
    """The stored config profiles, each at its newest revision."""

    def latest(self) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
        """(profile documents by name, revision by name)."""


class Pools(Protocol):
    """The address pools (IPAM) of the control plane's store. A refusal raises ValueError
    naming why; a pool that is not declared raises LookupError (checked first: it is both)."""

    def network(self, cidr: str) -> str:
        """The pool network ``cidr`` stands for (``10.250.0.0/24``), as a pool keeps it."""

    def declare(self, *, name: str, cidr: str, reserved: list[str],
                description: str) -> tuple[dict[str, Any], bool]:
        """(the pool's view: name, cidr, size, free..., whether this changed it)."""

    def view(self, name: str) -> dict[str, Any]:
        """The pool's view: name, cidr, reserved, size, allocated, free."""

    def allocations(self, pool: str) -> list[dict[str, Any]]:
        """The pool's allocations: address, cidr, prefixlen, owner, run_id."""

    def allocate(self, *, pool: str, owner: str, run_id: str) -> tuple[dict[str, Any], bool]:
        """(the owner's allocation, whether it is new): the lowest free address the first time."""

    def release(self, *, pool: str, owner: str) -> str | None:
        """Free the owner's address; the address, or None when it held none."""


@dataclass(frozen=True)
class Resources:
    runtime: Callable[[str], HostRuntime]  # a host's runtime, by host name
    inventory: Callable[[], Inventory]
    artifacts: Artifacts
    profiles: Profiles
    pools: Pools


_installed: Resources | None = None


def install(resources: Resources | None) -> None:
    """Make ``resources`` the process's (None: forget them, for tests)."""
    global _installed
    _installed = resources


def installed() -> Resources:
    if _installed is None:
        raise RuntimeError("no brick resources in this process: the CLI's worker, agent and api "
                           "install them (nebhx.process.install()); a test passes Context(runtime=...)")
    return _installed
