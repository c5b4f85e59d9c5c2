"""Labels an admin sets on a host, beside the ones its agent declares, and approvals.

An agent declares its labels each time it registers (``nebhx agent --label``) and replaces
them then; an admin's labels live in their own column so a re-register never undoes them.
The effective labels, what selectors match, are the agent's overlaid by the admin's; an
agent's word is not taken for identity keys (``name``, NEBHX_RESERVED_LABELS), and with
NEBHX_LABEL_APPROVAL=required not for any label an admin has not approved (nebhx.hosts.service).
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from nebhx.auth.deps import ADMIN
from nebhx.bricks.inventory import LabelKey, LabelValue
from nebhx.store.deps import DbSession
from nebhx.errors import NotFound
from nebhx.hosts.schemas import HostRead
from nebhx.hosts.service import read_host
from nebhx.store.models import HostRow

router = APIRouter()  # included in nebhx.hosts.routes, whose tag and role it takes


class LabelChange(BaseModel):
    set: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=100,
                                            description="Admin labels to add or replace")
    remove: list[LabelKey] = Field(default_factory=list, max_length=100, description="Admin labels to "
                                   "drop (the agent's own value for that key, if any, shows again)")

    @model_validator(mode="after")
    def _set_or_remove(self) -> LabelChange:
        # Both at once has no one right reading: refused rather than one silently winning.
        if both := sorted(set(self.remove) & self.set.keys()):
            raise ValueError(f"remove: {', '.join(both)} also in set; set a label or remove it, not both")
        return self


def change_labels(session: Session, *, name: str, set: dict[str, str], remove: list[str]) -> HostRow:
    row = session.get(HostRow, name)
    if row is None:
        raise NotFound(f"no host {name!r}: its agent has not registered yet (nebhx hosts lists them)")
    admin = {k: v for k, v in (row.admin_labels or {}).items() if k not in remove}
    row.admin_labels = {**admin, **set}  # a new dict: SQLAlchemy sees a changed JSON column
    return row


@router.patch("/hosts/{name}/labels", dependencies=[ADMIN])
def patch_labels(name: str, body: LabelChange, request: Request, s: DbSession) -> HostRead:
    """Set or remove a host's admin labels; they win over the labels its agent declares."""
    request.state.audit = {"host": name, "set": body.set, "remove": body.remove}
    return read_host(change_labels(s, name=name, set=body.set, remove=body.remove))

