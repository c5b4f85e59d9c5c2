"""Who calls the execution API: a host's agent, by its host-scoped token."""
from __future__ import annotations

import hashlib
import time

from fastapi import HTTPException, Request

from nebhx.auth.tokens import Principal, authenticate
from nebhx.store.db import session_scope

_TTL_S = 5.0  # a revoked host token stops working within this long
_cache: dict[str, tuple[float, Principal]] = {}


def require_host(request: Request) -> Principal:
    """The host whose agent calls; 401 without a valid token, 403 for a user's token."""
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential:
        raise HTTPException(401, "the execution API needs a host's token: Authorization: Bearer nbx_...")
    key = hashlib.sha256(credential.encode()).hexdigest()
    hit = _cache.get(key)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    with session_scope() as s:
        principal = authenticate(s, credential.strip())
    if principal is None:
        raise HTTPException(401, "unknown, expired or revoked token")
    if principal.kind != "host":
        raise HTTPException(403, "the execution API is for hosts' agents (nebhx hosts add NAME)")
    if len(_cache) > 1024:
        _cache.clear()
    _cache[key] = (time.monotonic() + _TTL_S, principal)
    return principal


def forget_host(name: str) -> None:
    """A host was deleted: this process stops taking its cached tokens at once (another API
    process within ``_TTL_S``)."""
    for key, (_, principal) in list(_cache.items()):
        if principal.name == name:
            _cache.pop(key, None)
