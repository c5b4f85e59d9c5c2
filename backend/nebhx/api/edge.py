"""Input limits at the edge: path parameters, query values and JSON bodies are checked
against nebhx.limits before any route runs, and refused with a 422 naming the field.

Routes then see only what every store can hold: no NUL or control characters, no NaN,
Infinity or 1e400, nothing nested past MAX_DEPTH (which would make pydantic, jsonschema or
the JSON parser recurse), no integer wider than 64 bits.
"""
from __future__ import annotations

from email.message import Message
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from nebhx import limits
from nebhx.web import problems


def _refusal(path: str, message: str) -> JSONResponse:
    return JSONResponse({"detail": problems(path, message)}, status_code=422)


def _path_params(app, path: str) -> dict[str, str]:
    """The route's named parameters, to name the one that is wrong (only on a refusal)."""
    from fastapi.routing import iter_route_contexts
    for route in iter_route_contexts(getattr(app, "routes", [])):
        regex = getattr(route, "path_regex", None)
        found = regex.match(path) if regex is not None else None
        if found and found.groupdict():
            return found.groupdict()
    return {}


def check_path_and_query(scope) -> JSONResponse | None:
    path = scope["path"]
    if _path_suspect(path):
        for name, value in _path_params(scope.get("app"), path).items():
            why = limits.bad_name(str(value))
            if why:
                return _refusal(f"/path/{name}", why)
        if limits.bad_characters(path):  # no route names it: still a 422, never a 500
            return _refusal("/path", limits.bad_characters(path))
    query = scope.get("query_string", b"").decode("latin-1")
    for key, value in parse_qsl(query, keep_blank_values=True):
        if limits.bad_name(key):
            return _refusal("/query", f"a parameter name {limits.bad_name(key)}")
        if limits.bad_name(value):
            return _refusal(f"/query/{key}", limits.bad_name(value))
    return None


def _path_suspect(path: str) -> bool:
    """A control character anywhere, or a segment longer than any id or name."""
    return limits.bad_characters(path) is not None or any(len(p) > limits.PARAM_MAX for p in path.split("/"))


def _is_json(headers: dict[bytes, bytes]) -> bool:
    """What FastAPI parses as JSON: no content type at all, or application/json or */*+json."""
    value = headers.get(b"content-type")
    if not value:
        return True
    message = Message()
    message["content-type"] = value.decode("latin-1")
    sub = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (sub == "json" or sub.endswith("+json"))


# A node's outcome is judged by the engine, which fails the node naming where a result breaks
# a limit (engine.claims): refusing the request would leave the agent holding the result.
JUDGED_LATER = {"/api/exec/finish": "outcome"}


def check_body(body: bytes, *, reported: bool = False, judged_later: str | None = None) -> JSONResponse | None:
    """None when the body keeps the limits or is not JSON at all (FastAPI then says so).
    ``reported``: an agent's report (execution API), whose text may hold any character."""
    try:
        limits.loads(body, root="/body", reported=reported, judged_later=judged_later,
                     max_depth=limits.MAX_DEPTH + 4 if reported else limits.MAX_DEPTH)
    except limits.LimitError as exc:
        return _refusal(exc.path or "/body", exc.message)
    except (ValueError, UnicodeDecodeError):  # not JSON: FastAPI's own answer names it
        return None
    return None


class InputLimits:
    """Plain ASGI, for every route under /api. The execution API's bodies are agents' reports:
    brick outputs and logs may carry any character a program prints (terminal escapes, NUL,
    which the store replaces), so there only numbers, nesting and lone surrogates are judged
    here; the names in them by the execution API's schemas."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/"):
            return await self.app(scope, receive, send)
        reported = path.startswith("/api/exec/")
        refused = check_path_and_query(scope)
        if refused is None and scope["method"] in ("POST", "PUT", "PATCH", "DELETE") \
                and _is_json(dict(scope["headers"])):
            body, receive = await _buffered(receive)
            if body:
                refused = await run_in_threadpool(check_body, body, reported=reported,
                                                  judged_later=JUDGED_LATER.get(path))
        await (refused or self.app)(scope, receive, send)


async def _buffered(receive):
    """The whole body (BodyLimit, outside this, caps it) and a receive that replays it."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b"", receive
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body, sent = b"".join(chunks), [False]

    async def replay():
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return body, replay


