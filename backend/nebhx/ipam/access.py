"""The address pools as the control plane's bricks reach them (``ctx.pools``, database form)."""
from __future__ import annotations

from typing import Any

from nebhx.ipam import service
from nebhx.store.db import session_scope


class StorePools:
    """Each call its own transaction; declare and allocate retry their own collisions."""

    def network(self, cidr: str) -> str:
        return str(service.parse_cidr(cidr))

    def declare(self, *, name: str, cidr: str, reserved: list[str],
                description: str) -> tuple[dict[str, Any], bool]:
        return service.declare(name, cidr, reserved, description)

    def view(self, name: str) -> dict[str, Any]:
        with session_scope() as s:
            return service.pool_view(s, name)

    def allocations(self, pool: str) -> list[dict[str, Any]]:
        with session_scope() as s:
            return service.allocations(s, pool)

    def allocate(self, *, pool: str, owner: str, run_id: str) -> tuple[dict[str, Any], bool]:
        return service.allocate(pool, owner, run_id=run_id)

    def release(self, *, pool: str, owner: str) -> str | None:
        with session_scope() as s:
            return service.release(s, pool, owner)
