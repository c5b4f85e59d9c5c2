"""The address pools as the control plane's bricks reach them (``ctx.pools``, database form):
the services' answers as the JSON bricks read."""
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
        pool, changed = service.declare(name, cidr, reserved, description)
        return pool.model_dump(mode="json"), changed

    def view(self, name: str) -> dict[str, Any]:
        with session_scope() as s:
            return service.pool_view(s, name=name).model_dump(mode="json")

    def allocations(self, pool: str) -> list[dict[str, Any]]:
        with session_scope() as s:
            return [a.model_dump(mode="json") for a in service.allocations(s, pool=pool)]

    def allocate(self, *, pool: str, owner: str, run_id: str) -> tuple[dict[str, Any], bool]:
        got, new = service.allocate(pool, owner, run_id=run_id)
        return got.model_dump(mode="json"), new

    def release(self, *, pool: str, owner: str) -> str | None:
        with session_scope() as s:
            return service.release(s, pool=pool, owner=owner).released or None
