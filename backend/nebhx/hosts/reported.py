"""What a host's agent reports on its own (its services' probes and liveness, its volumes),
masked with every stored secret's value before it is kept.

Such text comes from outside any run, so no brick's context masked it: a command probe's
output, the excerpt of a failed ``systemctl`` or ``haproxy -c`` the watcher hit while
restarting a program. The agent holds no secret to mask it with; the control plane does (the
same rule as a service's log, ``releases.on_host``, and the same masking as the bricks').
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nebhx.sealing import masking
from nebhx.store.models import SecretRow

# The values, kept while no secret is added, changed or deleted: a hundred hosts beat every
# few seconds, and each value costs a decryption.
_known: tuple[tuple[Any, ...], list[str]] = ((), [])


def secret_values(session: Session) -> list[str]:
    global _known
    stamp = tuple(session.execute(select(func.count(), func.max(SecretRow.updated_at))).one())
    if stamp != _known[0]:
        from nebhx.secrets.service import list_secrets, secret_value
        values = [v for v in (secret_value(session, name=n.name) for n in list_secrets(session)) if v]
        _known = (stamp, values)
    return _known[1]


def masked(session: Session, reported: list) -> list:
    """``reported`` with every stored secret's value masked in each string."""
    if not reported:
        return reported
    return masking.mask_values(reported, secret_values(session))
