from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from nebhx.auth import audit, ratelimit, service
from nebhx.auth.deps import ADMIN, COOKIE, VIEWER, resolve, viewer
from nebhx.auth.schemas import (AuditEntry, Login, Me, TokenCreate, TokenCreated, TokenLogin, TokenRead, UserCreate,
                                UserRead, UserUpdate)
from nebhx.auth.tokens import Principal
from nebhx.limits import AUDIT_LIMIT
from nebhx.settings import get_settings
from nebhx.store.deps import DbSession

# Reachable without a credential: how a caller finds out whether and how to sign in.
public = APIRouter(tags=["auth"])
router = APIRouter(dependencies=[VIEWER])
WHO = Depends(viewer)


def _me(principal: Principal | None, csrf: str | None) -> Me:
    return Me(user=principal.name if principal else None, role=principal.role if principal else None,
              auth="open" if service.is_open() else "required", csrf=csrf)


@public.get("/auth/me")
def me(request: Request) -> Me:
    """Who the caller is, whether the server asks for sign-in, and the CSRF token of the session."""
    principal = resolve(request)
    via = request.state.via
    csrf = principal.csrf if via == "cookie" else service.OPEN_CSRF if via == "local" else None
    return _me(None if principal and principal.kind == "host" else principal, csrf)


def _sign_in(request: Request, s: DbSession, username: str, password: str) -> Principal:
    """The user when the password is right; 401, or 429 after too many failures (HTTP's own:
    the Retry-After header and the audit row's actor are the route's)."""
    address = request.client.host if request.client else "unknown"
    keys = (f"address:{address}", f"user:{username.lower()[:64]}")
    request.state.audit_as = (username[:64], "auth.login_failed")
    wait = ratelimit.retry_after(*keys)
    if wait:
        raise HTTPException(429, f"too many failed sign-ins; try again in {wait} s",
                            headers={"Retry-After": str(wait)})
    found = service.sign_in(s, name=username, password=password)
    if found is None:
        ratelimit.failed(*keys)
        raise HTTPException(401, "wrong user name or password")
    request.state.audit_as = (found.name, None)
    return found


@public.post("/auth/login")
def login(body: Login, request: Request, response: Response, s: DbSession) -> Me:
    """Sign in with a password: sets the session cookie; the answer holds the session's CSRF token."""
    user = _sign_in(request, s, body.username, body.password)
    row, text = service.start_session(s, user=user.name)
    response.set_cookie(COOKIE, text, max_age=int(get_settings().session_ttl_s), path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return _me(user, row.csrf)


@public.post("/auth/logout", status_code=204)
def logout(request: Request, s: DbSession) -> Response:
    """End the browser session (it is revoked) and clear its cookie."""
    principal = resolve(request)
    if request.state.via == "cookie" and principal and principal.token_id:
        service.end_session(s, token_id=principal.token_id)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return response


@public.post("/auth/token", status_code=201)
def sign_in_for_token(body: TokenLogin, request: Request, s: DbSession) -> TokenCreated:
    """Trade a user name and password for an API token (``nebhx login``); shown once."""
    user = _sign_in(request, s, body.username, body.password)
    return service.create_token(s, owner=user.name, name=body.name, expires_in_days=body.expires_in_days)


@router.get("/users", tags=["users"], dependencies=[ADMIN])
def list_users(s: DbSession) -> list[UserRead]:
    """Every user with their role."""
    return service.list_users(s)


@router.post("/users", status_code=201, tags=["users"], dependencies=[ADMIN])
def create_user(body: UserCreate, request: Request, s: DbSession) -> UserRead:
    """Add a user with a password and a role."""
    request.state.audit = {"user": body.name, "role": body.role}
    return service.create_user(s, name=body.name, password=body.password, role=body.role)


@router.put("/users/{name}", tags=["users"], dependencies=[ADMIN])
def update_user(name: str, body: UserUpdate, request: Request, s: DbSession) -> UserRead:
    """Change a user's role, password or disabled flag (a new password ends their sessions)."""
    request.state.audit = {k: v for k, v in (("role", body.role), ("disabled", body.disabled)) if v is not None}
    if body.password is not None:
        request.state.audit["password_changed"] = True
    return service.update_user(s, name=name, role=body.role, password=body.password, disabled=body.disabled)


@router.get("/tokens", tags=["tokens"])
def list_tokens(s: DbSession, who: Principal = WHO) -> list[TokenRead]:
    """The caller's API tokens (an admin sees every API and host token); never their secrets."""
    return service.list_tokens(s, owner=None if who.may("admin") else who.name)


@router.post("/tokens", status_code=201, tags=["tokens"])
def create_token(body: TokenCreate, request: Request, s: DbSession, who: Principal = WHO) -> TokenCreated:
    """A new API token of the caller's: the answer is the only time its text is shown."""
    created = service.create_token(s, owner=who.name, name=body.name, expires_in_days=body.expires_in_days)
    request.state.audit = {"token": created.id}
    return created


@router.delete("/tokens/{token_id}", status_code=204, tags=["tokens"])
def revoke_token(token_id: str, s: DbSession, who: Principal = WHO) -> Response:
    """Revoke one of the caller's tokens (an admin: anyone's)."""
    service.revoke_token(s, token_id=token_id, by=who)
    return Response(status_code=204)


@router.get("/audit", tags=["audit"], dependencies=[ADMIN])
def audit_log(s: DbSession, actor: str | None = None, action: str | None = None,
              since: datetime | None = Query(None, description="ISO time; without a zone, UTC"),
              limit: int = Query(200, ge=AUDIT_LIMIT[0], le=AUDIT_LIMIT[1])) -> list[AuditEntry]:
    """Every state-changing call: who, what, where from, when and its answer; newest first."""
    return audit.audit_entries(s, actor=actor, action=action, since=since, limit=limit)
