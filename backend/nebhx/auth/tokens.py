"""Bearer credentials: API tokens, browser sessions and hosts' agent tokens, stored hashed.

A credential is ``nbx_<id>_<secret>``: the id finds the row, sha256 of the secret is compared
in constant time. The secret has 256 bits of entropy, so a fast hash is enough (a password
needs argon2; a random token does not).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from nebhx.store.models import TokenRow, UserRow, aware, utcnow

ROLES = ("viewer", "operator", "admin")
KINDS = ("api", "session", "host")
PREFIX = "nbx_"


@dataclass(frozen=True)
class Principal:
    """Who makes a request: a user (by password session or API token), a host's agent, or
    ``local``, the single user of an embedded server on loopback with no users configured."""

    name: str
    role: str | None  # None for a host: it may use the execution API only
    kind: str  # user | host | local
    token_id: str | None = None
    csrf: str | None = None  # set for browser sessions: state-changing calls must echo it

    @property
    def host(self) -> str | None:
        return self.name if self.kind == "host" else None

    def may(self, role: str) -> bool:
        return self.role is not None and ROLES.index(self.role) >= ROLES.index(role)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(session: Session, *, kind: str, owner: str, name: str = "",
          ttl: timedelta | None = None) -> tuple[TokenRow, str]:
    """Create a credential; the returned text is shown once and never stored."""
    assert kind in KINDS
    tid, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = TokenRow(id=tid, kind=kind, owner=owner, name=name, secret_hash=_digest(secret),
                   csrf=secrets.token_urlsafe(24) if kind == "session" else None,
                   expires_at=utcnow() + ttl if ttl else None)
    session.add(row)
    session.flush()
    return row, f"{PREFIX}{tid}_{secret}"


def authenticate(session: Session, credential: str | None) -> Principal | None:
    """The principal a credential stands for, or None (unknown, wrong, expired, revoked)."""
    if not credential or not credential.startswith(PREFIX) or len(credential) > 200:
        return None
    tid, _, secret = credential[len(PREFIX):].partition("_")
    if not tid or not secret:
        return None
    row = session.get(TokenRow, tid)
    if row is None or not hmac.compare_digest(row.secret_hash, _digest(secret)):
        return None
    now = utcnow()
    if row.revoked_at is not None or (row.expires_at is not None and aware(row.expires_at) <= now):
        return None
    _touch(session, row, now)
    if row.kind == "host":
        return Principal(name=row.owner, role=None, kind="host", token_id=row.id)
    user = session.get(UserRow, row.owner)
    if user is None or user.disabled:
        return None
    return Principal(name=user.name, role=user.role, kind="user", token_id=row.id, csrf=row.csrf)


def _touch(session: Session, row: TokenRow, now: datetime) -> None:
    """Record use at most once a minute: a busy agent must not write on every call."""
    if row.last_used_at is None or aware(row.last_used_at) < now - timedelta(seconds=60):
        session.execute(update(TokenRow).where(TokenRow.id == row.id).values(last_used_at=now))


def revoke(session: Session, *, token_id: str) -> bool:
    res = session.execute(update(TokenRow).where(TokenRow.id == token_id, TokenRow.revoked_at.is_(None))
                          .values(revoked_at=utcnow()))
    return res.rowcount == 1
