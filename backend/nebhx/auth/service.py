"""Users, passwords, sessions, API tokens and hosts' join tokens; whether the server is open."""
from __future__ import annotations

import ipaddress
import secrets
import shlex
import time
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nebhx.auth.audit import Door, record_change
from nebhx.auth.schemas import MIN_PASSWORD as MIN_PASSWORD
from nebhx.auth.schemas import NAME_PATTERN as NAME_PATTERN
from nebhx.auth.schemas import HostJoin, TokenCreated, TokenRead, UserRead
from nebhx.auth.tokens import ROLES, Principal, issue, revoke
from nebhx.errors import Conflict, Forbidden, NotFound
from nebhx.settings import get_settings
from nebhx.store.db import session_scope
from nebhx.store.models import TokenRow, UserRow, utcnow

LOCAL = Principal(name="local", role="admin", kind="local")
USERS_CACHE_S = 2.0

_hasher = PasswordHasher()  # argon2id with the library's current recommended costs
# Verified when the user name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
# In open mode there is no session; the editor echoes this instead (given by /auth/me).
OPEN_CSRF = secrets.token_urlsafe(24)
_users_seen: dict[str, tuple[float, bool]] = {}

# --- mode ---------------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def users_exist() -> bool:
    """Whether a user was ever created (disabled ones count: disabling every user must not
    reopen the server); cached for a moment so it is not a query per request."""
    url = get_settings().db_url
    seen = _users_seen.get(url)
    if seen and seen[0] > time.monotonic():
        return seen[1]
    with session_scope() as s:
        found = s.scalars(select(UserRow.name).limit(1)).first() is not None
    _users_seen[url] = (time.monotonic() + USERS_CACHE_S, found)
    return found


def forget_users_cache() -> None:
    _users_seen.clear()


def is_open() -> bool:
    """Open: every caller without a credential is the local admin (the embedded single-user mode)."""
    settings = get_settings()
    return settings.auth == "auto" and is_loopback(settings.host) and not users_exist()


def unsafe_bind(host: str) -> str | None:
    """Why serving on ``host`` is refused (a non-loopback bind with no user), or None."""
    if is_loopback(host) or users_exist():
        return None
    return (f"refusing to serve on {host}: no user exists, so anyone who reaches this address could "
            "run anything. Create an admin first: `nebhx user add admin --role admin`, then start "
            "again (or bind 127.0.0.1).")


# --- users --------------------------------------------------------------------------------

def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")


def user_view(row: UserRow) -> UserRead:
    return UserRead(name=row.name, role=row.role, disabled=row.disabled, created_at=row.created_at)


# Every change below takes ``door``: the CLI and agents give theirs and the change writes its
# audit row; None is an API route's (the middleware writes the row, with the answer's status).

def create_user(session: Session, *, name: str, password: str, role: str, door: Door | None = None) -> UserRead:
    assert role in ROLES, role
    _check_password(password)
    if session.get(UserRow, name) is not None:
        raise Conflict(f"user {name!r} exists")
    row = UserRow(name=name, password_hash=_hasher.hash(password), role=role, disabled=False)
    session.add(row)
    session.flush()
    forget_users_cache()
    record_change(session, door, action="users.create_user", target="/api/users", data={"user": name, "role": role})
    return user_view(row)


def list_users(session: Session) -> list[UserRead]:
    return [user_view(r) for r in session.scalars(select(UserRow).order_by(UserRow.name))]


def update_user(session: Session, *, name: str, role: str | None = None, password: str | None = None,
                disabled: bool | None = None, door: Door | None = None) -> UserRead:
    # A change that could leave no admin first locks every enabled admin, in name order: two
    # admins disabling each other at once then take turns, and the second is refused.
    admins = _lock_admins(session) if role not in (None, "admin") or disabled else None
    row = session.get(UserRow, name, with_for_update=True)
    if row is None:
        raise NotFound(f"no user {name!r}")
    if admins is not None and row.role == "admin" and not row.disabled and admins == [name]:
        raise Conflict(f"{name!r} is the last enabled admin; make another admin first")
    if password is not None:
        _check_password(password)
        row.password_hash = _hasher.hash(password)
        _revoke_sessions(session, name)  # a changed password signs out the browsers that knew the old one
    if role is not None:
        assert role in ROLES, role
        row.role = role
    if disabled is not None:
        row.disabled = disabled
    session.flush()
    forget_users_cache()
    changed = {k: v for k, v in (("role", role), ("disabled", disabled)) if v is not None}
    record_change(session, door, action="users.update_user", target=f"/api/users/{name}",
                  data={"user": name, **changed, **({"password_changed": True} if password is not None else {})})
    return user_view(row)


def _lock_admins(session: Session) -> list[str]:
    """The enabled admins, their rows locked until the transaction ends (PostgreSQL)."""
    return list(session.scalars(select(UserRow.name).where(UserRow.role == "admin", UserRow.disabled.is_(False))
                                .order_by(UserRow.name).with_for_update()))


def _revoke_sessions(session: Session, owner: str) -> None:
    session.execute(update(TokenRow).where(TokenRow.owner == owner, TokenRow.kind == "session",
                                           TokenRow.revoked_at.is_(None)).values(revoked_at=utcnow()))


def check_password(session: Session, *, name: str, password: str) -> UserRow | None:
    """The enabled user with this name and password, or None (same cost either way)."""
    row = session.get(UserRow, name) if len(name) <= 64 else None
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    return row


def sign_in(session: Session, *, name: str, password: str) -> Principal | None:
    """The enabled user with this name and password as a principal, or None."""
    user = check_password(session, name=name, password=password)
    return Principal(name=user.name, role=user.role, kind="user") if user else None


# --- tokens -------------------------------------------------------------------------------

def token_view(row: TokenRow) -> TokenRead:
    return TokenRead(id=row.id, kind=row.kind, owner=row.owner, name=row.name, created_at=row.created_at,
                     expires_at=row.expires_at, revoked_at=row.revoked_at, last_used_at=row.last_used_at)


def start_session(session: Session, *, user: str) -> tuple[TokenRow, str]:
    ttl = timedelta(seconds=get_settings().session_ttl_s)
    return issue(session, kind="session", owner=user, name="browser", ttl=ttl)


def end_session(session: Session, *, token_id: str) -> None:
    """Sign a browser session out: its token is revoked."""
    revoke(session, token_id=token_id)


def create_token(session: Session, *, owner: str, name: str, expires_in_days: int | None = None,
                 door: Door | None = None) -> TokenCreated:
    """A new API token of a user; the answer holds the token text, which is never shown again."""
    user = session.get(UserRow, owner)
    if user is None:
        raise Conflict(f"no user {owner!r}: tokens belong to users (`nebhx user add`)")
    row, text = issue(session, kind="api", owner=owner, name=name,
                      ttl=timedelta(days=expires_in_days) if expires_in_days else None)
    record_change(session, door, action="tokens.create_token", target="/api/tokens",
                  data={"token": row.id, "owner": owner})
    return TokenCreated(id=row.id, token=text, expires_at=row.expires_at)


def list_tokens(session: Session, *, owner: str | None = None) -> list[TokenRead]:
    """API and host tokens (``owner``'s only, when given); never their secrets."""
    stmt = select(TokenRow).where(TokenRow.kind != "session").order_by(TokenRow.created_at)
    if owner is not None:
        stmt = stmt.where(TokenRow.owner == owner, TokenRow.kind == "api")
    return [token_view(r) for r in session.scalars(stmt)]


def revoke_token(session: Session, *, token_id: str, by: Principal | None = None, door: Door | None = None) -> None:
    """Revoke a token; ``by`` (when given) must own it or be an admin."""
    row = session.get(TokenRow, token_id)
    if row is None:
        raise NotFound(f"no token {token_id!r}")
    if by is not None and not by.may("admin") and (row.owner != by.name or row.kind == "host"):
        raise Forbidden(f"token {token_id} is not yours; revoking it needs admin")
    revoke(session, token_id=token_id)
    if row.kind == "host":
        from nebhx.auth.broker import token_revoked
        token_revoked(row.owner, token_id)  # its broker password goes too (its user, with the last)
    record_change(session, door, action="tokens.revoke_token", target=f"/api/tokens/{token_id}",
                  data={"token": token_id, "owner": row.owner})


def add_host(session: Session, *, name: str, labels: dict[str, str], server: str,
             door: Door | None = None) -> HostJoin:
    """A join token for a host's agent, and the command that starts the agent with it."""
    row, text = issue(session, kind="host", owner=name, name="join")
    record_change(session, door, action="hosts.add_host", target="/api/hosts",
                  data={"host": name, "labels": labels, "token": row.id})
    words = ["nebhx", "agent", "--host", name, "--server", server.rstrip("/")]
    for k, v in labels.items():
        words += ["--label", f"{k}={v}"]
    # In the environment, not argv: any local user can read a process's arguments with ps.
    command = f"NEBHX_AGENT_TOKEN={shlex.quote(text)} " + " ".join(shlex.quote(w) for w in words)
    return HostJoin(name=name, token=text, command=command)
