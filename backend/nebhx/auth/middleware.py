"""Host, Origin and CSRF checks on every request, and the audit row of every state-changing call.

The Host check stops DNS rebinding (a page on evil.example whose name now resolves to
127.0.0.1); the Origin check stops other sites' pages; the CSRF token stops a forged form or
``text/plain`` POST that carries the browser's session cookie (or, in open mode, none at all).
The execution API (/api/exec) is left alone: agents use host tokens and their own checks.
"""
from __future__ import annotations

import hmac
import logging
from functools import lru_cache
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from nebhx.auth import audit, service
from nebhx.auth.deps import COOKIE, resolve
from nebhx.settings import get_settings
from nebhx.store.db import session_scope

log = logging.getLogger(__name__)
SAFE = {"GET", "HEAD", "OPTIONS"}
READ_ONLY = {"/api/graphs/validate", "/api/graphs/problems", "/api/graphs/plan",
             "/api/templates/canary"}  # POSTs that change nothing (the canary draft is not saved)
# Sign-in calls carry no session yet (and logout must work with a stale one); the Origin
# check and SameSite=Strict cover them.
NO_CSRF = READ_ONLY | {"/api/auth/login", "/api/auth/token", "/api/auth/logout"}
BAD_CSRF = "missing or wrong CSRF token (X-CSRF-Token)"


def is_exec(path: str) -> bool:
    return path == "/api/exec" or path.startswith("/api/exec/")


def host_name(value: str) -> str:
    """``Host``'s name without its port: ``[::1]:8750`` -> ``::1``, ``Web1.:80`` -> ``web1``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


@lru_cache(maxsize=8)
def _allowed(bind: str, url: str, extra: str) -> frozenset[str]:
    names = {"localhost", "127.0.0.1", "::1"}
    if bind not in ("0.0.0.0", "::", "[::]", ""):
        names.add(host_name(bind))
    if urlsplit(url).hostname:
        names.add(host_name(urlsplit(url).hostname))
    names.update(host_name(h) for h in extra.split(",") if h.strip())
    return frozenset(names)


def allowed_hosts() -> frozenset[str]:
    settings = get_settings()
    return _allowed(settings.host, settings.url, settings.allowed_hosts)


def _foreign(request: Request) -> JSONResponse | None:
    """421 for a Host this server is not known by, 403 for a foreign Origin."""
    allowed = allowed_hosts()
    host = request.headers.get("host")
    if host is not None and host_name(host) not in allowed:
        return JSONResponse({"detail": f"this server is not known as {host_name(host)!r} (Host header); "
                             "add the name to NEBHX_ALLOWED_HOSTS (comma-separated) to allow it"},
                            status_code=421)
    origin = request.headers.get("origin")
    if origin is not None and host_name(urlsplit(origin).hostname or origin) not in allowed:
        return JSONResponse({"detail": f"requests from origin {origin!r} are refused; add its host to "
                             "NEBHX_ALLOWED_HOSTS to allow it"}, status_code=403)
    return None


def _bad_csrf(request: Request) -> JSONResponse | None:
    """403 for a state-changing browser call without the session's CSRF token."""
    headers = request.headers
    if headers.get("sec-fetch-site") == "cross-site":
        return JSONResponse({"detail": "cross-site requests are refused"}, status_code=403)
    via = request.state.via
    if request.url.path in NO_CSRF or via not in ("cookie", "local"):
        return None  # a bearer token is not sent by browsers on their own; anonymous gets 401 later
    if COOKIE not in request.cookies and "origin" not in headers and "sec-fetch-site" not in headers:
        return None  # not a browser: the CLI or a script in open mode
    expected = request.state.principal.csrf if via == "cookie" else service.OPEN_CSRF
    given = headers.get("x-csrf-token", "")
    if expected and hmac.compare_digest(given.encode(), expected.encode()):
        return None
    return JSONResponse({"detail": BAD_CSRF}, status_code=403)


def action_of(request: Request) -> str:
    """A stable name for the route: ``runs.cancel`` (tag and endpoint), ``unmatched`` for none."""
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and request.method in (route.methods or ()) and regex.match(request.url.path):
            tags = getattr(route, "tags", None) or ["api"]
            return route.name if "." in route.name else f"{tags[0]}.{route.name}"
    return "unmatched"


def _audit(request: Request, status: int) -> None:
    state = request.state
    principal = getattr(state, "principal", None)
    actor, action = getattr(state, "audit_as", None) or (None, None)
    data = {"status": status, **(getattr(state, "audit", None) or {})}
    try:
        with session_scope() as s:
            audit.record(s, actor=actor or (principal.name if principal else "anonymous"),
                         action=action or action_of(request), target=request.url.path,
                         address=request.client.host if request.client else None, data=data)
    except Exception:  # the call itself is done; losing its row must not turn it into a 500
        log.exception("could not write the audit row of %s %s", request.method, request.url.path)


class Guard:
    """Plain ASGI (no per-request task or body copy, unlike ``@app.middleware``): the
    execution API's agents call several times per node and pay nothing here."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or is_exec(scope["path"]):
            return await self.app(scope, receive, send)
        request = Request(scope)
        path = scope["path"]
        refused = _foreign(request)
        if request.method in SAFE or not path.startswith("/api/"):
            return await (refused or self.app)(scope, receive, send)
        if refused is None:
            try:
                await run_in_threadpool(resolve, request)
                refused = _bad_csrf(request)
            except OperationalError:  # the store is restarting: retryable, not a 500
                refused = JSONResponse({"detail": "the store is not reachable right now; try again"},
                                       status_code=503, headers={"Retry-After": "1"})
        audited = path in READ_ONLY

        async def send_audited(message):
            # The row is written before the answer starts: a caller who reads /api/audit
            # after its answer finds its own call there.
            nonlocal audited
            if message["type"] == "http.response.start" and not audited:
                audited = True
                await run_in_threadpool(_audit, request, message["status"])
            await send(message)
        try:
            await (refused or self.app)(scope, receive, send_audited)
        finally:
            if not audited:  # the call raised before it answered
                await run_in_threadpool(_audit, request, 500)


def install(app: FastAPI) -> None:
    app.add_middleware(Guard)
