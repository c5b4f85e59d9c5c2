"""Stored secrets: sealed at rest, referenced from graphs by name, never read back."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.errors import BadInputs
from nebhx.secrets.crypto import seal, unseal_value
from nebhx.secrets.masking import normalise_secret
from nebhx.store.models import SecretRow, iso, utcnow

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


def put_secret(session: Session, *, name: str, value: str) -> None:
    if not NAME.match(name):
        raise BadInputs([{"input": "name", "message": f"secret name {name!r} must match {NAME.pattern}"}])
    try:
        value = normalise_secret(value)
    except ValueError as exc:
        raise BadInputs([{"input": name, "message": str(exc)}]) from None
    token = seal(value)["$enc"]
    row = session.get(SecretRow, name)
    if row is None:
        session.add(SecretRow(name=name, value=token))
    else:
        row.value, row.updated_at = token, utcnow()


def list_secrets(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(SecretRow.name, SecretRow.updated_at).order_by(SecretRow.name))
    return [{"name": n, "updated_at": iso(at)} for n, at in rows]


def secret_value(session: Session, *, name: str) -> str | None:
    """The plain value of a stored secret, for the engine's own comparisons; never returned."""
    row = session.get(SecretRow, name)
    return None if row is None else unseal_value({"$enc": row.value})
