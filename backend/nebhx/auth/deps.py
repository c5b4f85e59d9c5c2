"""Who is calling: the principal of a request, and the role checks routes depend on.

Every router gets ``dependencies=[VIEWER]`` and every state-changing route a stricter one,
so a route without a check is a visible omission (tests/auth walks every route).
"""
from __future__ import annotations

from fastapi import Depends, HTTPException, Request

from nebhx.auth import service
from nebhx.auth.tokens import Principal, authenticate
from nebhx.store.db import session_scope

COOKIE = "nebhx_session"
SIGN_IN = "sign in: send `Authorization: Bearer <token>` (nebhx login) or sign in to the editor"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def resolve(request: Request) -> Principal | None:
    """The caller, remembered on the request; blocking (it may read the store).

    Sets ``request.state.via``: "bearer", "cookie", "local" (open mode) or None, and
    ``request.state.bad_credential`` when a bearer credential was given and is not valid.
    """
    state = request.state
    if getattr(state, "resolved", False):
        return state.principal
    principal, via, bad = None, None, False
    bearer, cookie = _bearer(request), request.cookies.get(COOKIE)
    if bearer is not None:
        principal, via = _authenticate(bearer), "bearer"
        bad = principal is None
    elif cookie:
        principal, via = _authenticate(cookie), "cookie"
        if principal is None or principal.csrf is None:  # stale, or not a browser session
            principal, via = None, None
    if principal is None and not bad and service.is_open():
        principal, via = service.LOCAL, "local"
    state.principal, state.via, state.bad_credential, state.resolved = principal, via, bad, True
    return principal


def _authenticate(credential: str) -> Principal | None:
    # Only with a credential: on SQLite every transaction takes the write lock.
    with session_scope() as s:
        return authenticate(s, credential)


def require(role: str):
    def check(request: Request) -> Principal:
        principal = resolve(request)
        if request.state.bad_credential:
            raise HTTPException(401, "sign in again: the token is unknown, expired or revoked")
        if principal is None:
            raise HTTPException(401, SIGN_IN)
        if principal.kind == "host":
            raise HTTPException(403, f"host {principal.name}'s token may only use the execution API")
        ensure_may(principal, role)
        return principal
    check.__name__ = f"require_{role}"
    return check


def ensure_may(principal: Principal, role: str, why: str = "") -> None:
    if not principal.may(role):
        raise HTTPException(403, f"{principal.name} is {principal.role}; {why or 'this'} needs {role}")


viewer, operator, admin = require("viewer"), require("operator"), require("admin")
VIEWER, OPERATOR, ADMIN = Depends(viewer), Depends(operator), Depends(admin)
