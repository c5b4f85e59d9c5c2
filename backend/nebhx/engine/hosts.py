"""A host's state and the labels its selectors match, read from its row: the engine's view of
the hosts table (its inventory and its sweep); the hosts domain manages the rows."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from nebhx.store.models import HostRow, aware, utcnow


def host_state(row: HostRow, down_after_s: float | None = None) -> str:
    if down_after_s is None:
        from nebhx.settings import get_settings
        down_after_s = get_settings().host_down_s
    return "up" if aware(row.last_seen) > utcnow() - timedelta(seconds=down_after_s) else "down"


IDENTITY = "name"  # selectors read it as the host's own name: never an agent's word


def label_policy() -> tuple[frozenset[str], bool]:
    """The keys only an admin sets (``name`` and NEBHX_RESERVED_LABELS), and whether an agent's
    other labels wait for an admin's approval (NEBHX_LABEL_APPROVAL=required)."""
    from nebhx.settings import get_settings
    settings = get_settings()
    reserved = {k.strip() for k in settings.reserved_labels.split(",") if k.strip()}
    return frozenset({IDENTITY, *reserved}), settings.label_approval == "required"


def held_labels(row: HostRow) -> dict[str, str]:
    """The agent's labels selectors do not see, each with why: "reserved" (an identity key,
    set only by an admin) or "unapproved" (waiting for an admin, or changed since approved)."""
    reserved, approval = label_policy()
    approved = row.approved_labels or {}
    held = {}
    for key, value in (row.labels or {}).items():
        if key in reserved:
            held[key] = "reserved"
        elif approval and approved.get(key) != value:
            held[key] = "unapproved"
    return held


def effective_labels(row: HostRow) -> dict[str, Any]:
    """What selectors match: the agent's labels an admin need not (or did) vouch for, overlaid
    by the ones an admin set."""
    held = held_labels(row)
    agent = {k: v for k, v in (row.labels or {}).items() if k not in held}
    return {**agent, **(row.admin_labels or {})}
