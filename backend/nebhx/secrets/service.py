"""Stored secrets: sealed at rest, referenced from graphs by name, never read back."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nebhx.auth.audit import Door, record_change
from nebhx.errors import BadInputs, InUse, NotFound
from nebhx.sealing.crypto import seal, unseal_value
from nebhx.sealing.masking import normalise_secret
from nebhx.secrets.schemas import SecretName
from nebhx.store.models import SecretRow, utcnow
from nebhx.store.queries import latest_docs

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


def list_secrets(session: Session) -> list[SecretName]:
    rows = session.execute(select(SecretRow.name, SecretRow.updated_at).order_by(SecretRow.name))
    return [SecretName(name=n, updated_at=at) for n, at in rows]


def secret_value(session: Session, *, name: str) -> str | None:
    """The plain value of a stored secret, for the engine's own comparisons; never returned."""
    row = session.get(SecretRow, name)
    return None if row is None else unseal_value({"$enc": row.value})


def _references(value: Any, name: str) -> bool:
    if isinstance(value, dict):
        return value.get("$secret") == name or any(_references(v, name) for v in value.values())
    if isinstance(value, list):
        return any(_references(v, name) for v in value)
    return False


def users_of(session: Session, name: str) -> list[str]:
    """The stored graphs whose latest revision refers to secret ``name`` (a node, an input default)."""
    out = []
    for gid, doc in latest_docs(session):
        nodes = [n.get("id") for n in doc.get("nodes") or [] if isinstance(n, dict) and _references(n.get("params"), name)]
        inputs = [i.get("name") for i in doc.get("inputs") or [] if isinstance(i, dict) and _references(i.get("default"), name)]
        out += [f"graph {gid} node {n}" for n in nodes] + [f"graph {gid} input {i}" for i in inputs]
    return out


def delete_secret(session: Session, *, name: str, door: Door | None = None) -> None:
    """Refused (InUse) while a stored graph refers to it; the sealed value is gone for good."""
    row = session.get(SecretRow, name)
    if row is None:
        raise NotFound(f"no secret {name!r}")
    if users := users_of(session, name):
        raise InUse(f"secret {name} is in use by {', '.join(users)}; change those graphs first")
    session.delete(row)
    record_change(session, door, action="secrets.delete_secret", target=f"/api/secrets/{name}", data={"secret": name})
