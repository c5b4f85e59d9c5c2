"""An approval gate's policy: who may decide, how many approvals it needs, whether the run's
starter may approve, what its expiry does.

The gate brick (blocks/gate/approval.py) writes its policy into the node's ``wait`` when it
starts waiting; this module checks each decision against it. A rejection by anyone allowed
to decide fails the gate at once; approvals are counted per person until ``required`` of them
came in. The starter may always reject (stop their own run) but approve only when the gate
says so. The single user of an open embedded server (``local``) is every role at once, so the
starter rule does not apply to them.
"""
from __future__ import annotations

from typing import Any

from nebhx.auth.tokens import ROLES
from nebhx.errors import Forbidden
from nebhx.store.models import NodeRow, RunRow

DEFAULT_POLICY: dict[str, Any] = {"approvers": [], "role": "operator", "required": 1,
                                  "starter_may_approve": False, "on_expiry": "fail"}


class NotAllowed(Forbidden):
    """This person may not take this decision on this gate (answered 403, as every Forbidden)."""


def policy_of(row: NodeRow) -> dict[str, Any]:
    """The gate's policy; a node waiting from before policies existed gets the defaults."""
    return {**DEFAULT_POLICY, **((row.wait or {}).get("policy") or {})}


def approvals_of(row: NodeRow) -> list[dict[str, Any]]:
    return list((row.wait or {}).get("approvals") or [])


def check_decider(row: NodeRow, run: RunRow, *, by: str, role: str | None, kind: str, approve: bool) -> None:
    """Raise NotAllowed naming the rule when ``by`` may not take this decision."""
    policy = policy_of(row)
    where = f"gate {row.node_id} of run {run.id}"
    if kind != "local":
        if policy["approvers"] and by not in policy["approvers"]:
            raise NotAllowed(f"{by} is not among the approvers of {where} ({', '.join(policy['approvers'])})")
        need = policy["role"]
        if role is None or (need in ROLES and ROLES.index(role) < ROLES.index(need)):
            raise NotAllowed(f"deciding on {where} needs the role {need}; {by} is {role}")
    if not approve:
        return
    if kind != "local" and not policy["starter_may_approve"] and run.started_by == by:
        raise NotAllowed(f"{by} started run {run.id} and may not approve its own run at {row.node_id} "
                         "(the gate's starter_may_approve is off); another approver must")
    if any(a["by"] == by for a in approvals_of(row)):
        raise NotAllowed(f"{by} already approved {where}; it needs {policy['required']} different approvers")


def still_needed(row: NodeRow, *, adding: int = 1) -> int:
    """How many approvals the gate still needs once ``adding`` more are counted."""
    return max(policy_of(row)["required"] - len(approvals_of(row)) - adding, 0)
