"""The service lock a brick's attempt takes before it runs (``Brick.service_lock``): which
one, from its validated inputs, and how a held one reads. Rows and taking: the store's
(``nebhx.engine.locks``), reached through the attempt's ``Execution``."""
from __future__ import annotations

from typing import Any

WAIT, REFUSE = "wait", "refuse"


def lock_key(brick_cls: type, inputs: Any) -> dict[str, str] | None:
    """``{"host", "service", "instance"}`` the brick would change, from its validated inputs;
    None for a brick that declares no service lock (or names no host)."""
    names = getattr(brick_cls, "service_lock", None)
    if not names:
        return None
    host, service, instance = (getattr(inputs, n, None) if n else None for n in names)
    if not host or not service:
        return None
    return {"host": str(host), "service": str(service), "instance": str(instance or "")}


def describe(key: dict[str, str], holder: dict[str, Any]) -> str:
    what = key["service"] + (f" (instance {key['instance']})" if key["instance"] else "")
    return (f"service {what} on host {key['host']} is locked by run {holder['run_id']} "
            f"(node {holder['node_id']}, since {holder['since']})")
