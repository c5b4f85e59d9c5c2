"""Errors as answers: every bad request names what is wrong and where; never a 500 for input."""
from __future__ import annotations

from fastapi import FastAPI, Request
from sqlalchemy.exc import OperationalError
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from nebhx.api.edge import InputLimits
from nebhx.errors import BadInputs, Conflict, InUse, NotFound
from nebhx.graphs.validate import GraphInvalid


def _problem(message: str, path: str = "", code: str = "request") -> dict:
    return {"node": None, "port": None, "code": code, "message": message, "path": path}


def install(app: FastAPI) -> None:
    @app.exception_handler(GraphInvalid)
    async def _invalid(_: Request, exc: GraphInvalid):
        return JSONResponse({"detail": [p.as_dict() for p in exc.problems]}, status_code=422)

    @app.exception_handler(BadInputs)
    async def _inputs(_: Request, exc: BadInputs):
        detail = [_problem(p["message"], f"/inputs/{p['input']}", "input") for p in exc.problems]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError):
        detail = []
        for err in exc.errors()[:50]:
            loc = [str(p) for p in err.get("loc", [])]
            msg = err.get("msg", "invalid")
            if err.get("type") == "json_invalid":
                msg = f"the body is not valid JSON ({err.get('ctx', {}).get('error', msg)})"
            detail.append(_problem(f"{'/'.join(loc)}: {msg}", "/" + "/".join(loc)))
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(NotFound)
    async def _missing(_: Request, exc: NotFound):
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(OperationalError)
    async def _store_down(_: Request, exc: OperationalError):
        # The store went away (a restart drops every pooled connection; the pool reconnects on
        # the next call): a retryable 503, not a 500.
        return JSONResponse({"detail": "the store is not reachable right now; try again"},
                            status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(PermissionError)  # nebhx.errors.Forbidden and the trust checks' own
    async def _not_permitted(_: Request, exc: PermissionError):
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(Conflict)
    @app.exception_handler(InUse)
    async def _conflict(_: Request, exc: Exception):
        return JSONResponse({"detail": str(exc)}, status_code=409)

    app.add_middleware(InputLimits)  # inside BodyLimit: it reads a body already capped
    app.add_middleware(BodyLimit)


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """413 for a body over NEBHX_MAX_BODY_BYTES, whether it declares its length or arrives
    chunked: bytes are counted as they are read, so nothing past the limit is kept."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from nebhx.settings import get_settings
        limit = get_settings().max_body_bytes
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            return await _too_large(int(length), limit)(scope, receive, send)
        seen, started = [0], [False]

        async def counting_receive():
            message = await receive()
            seen[0] += len(message.get("body", b""))
            if seen[0] > limit:
                raise BodyTooLarge()
            return message

        async def noting_send(message):
            started[0] = started[0] or message["type"] == "http.response.start"
            await send(message)
        try:
            await self.app(scope, counting_receive, noting_send)
        except BodyTooLarge:
            if started[0]:
                raise
            await _too_large(None, limit)(scope, receive, send)


def _too_large(length: int | None, limit: int) -> JSONResponse:
    size = f"{length} bytes" if length is not None else f"over {limit} bytes (sent in chunks)"
    return JSONResponse({"detail": [_problem(f"the body is {size}; the limit is {limit} (NEBHX_MAX_BODY_BYTES)")]},
                        status_code=413)
