"""The FastAPI application: thin routes under /api, the editor's static files at /.

Every router but ``health`` and the sign-in routes depends on a role (nebhx.auth.deps); the
middleware checks Host, Origin and CSRF and audits every state-changing call.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from typing import Literal

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from nebhx.version import __version__
from nebhx.api import docs, errors
from nebhx.auth import middleware
from nebhx.auth.deps import VIEWER
from nebhx.auth.routes import public as auth_public
from nebhx.auth.routes import router as auth_router
from nebhx.graphs.palette_routes import router as bricks_router
from nebhx.graphs.routes import router as graphs_router
from nebhx.plans.routes import router as plans_router
from nebhx.graphs.schemas import ProblemList
from nebhx.runs.routes import router as runs_router
from nebhx.settings import get_settings

health = APIRouter(tags=["health"])


class Health(BaseModel):
    ok: bool
    version: str
    store: Literal["up", "down"]


@health.get("/health", responses={503: {"model": Health, "description": "The store does not answer"}})
def get_health(response: Response) -> Health:
    """The API and its store: 503 while the store does not answer."""
    from nebhx.store.db import session_scope
    try:
        with session_scope() as s:
            s.execute(text("SELECT 1"))
    except SQLAlchemyError:
        response.status_code, response.headers["Retry-After"] = 503, "1"
        return Health(ok=False, version=__version__, store="down")
    return Health(ok=True, version=__version__, store="up")


# Every 422 of this API lists problems (api.errors), not FastAPI's default validation errors.
UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {"model": ProblemList, "description": "The request's problems, each with where and why"}}


def create_app(*, sweeper: bool = False) -> FastAPI:
    from nebhx import process
    process.install()  # a plan's bricks (ctx.inventory, ctx.runtime) run in this process
    app = FastAPI(title="Nebh-X", version=__version__, openapi_url="/api/openapi.json",
                  docs_url=None, redoc_url=None, lifespan=_sweeping if sweeper else None)
    errors.install(app)
    middleware.install(app)
    for router in (health, auth_public, auth_router, bricks_router, graphs_router, plans_router, runs_router,
                   *_extra_routers()):
        app.include_router(router, prefix="/api", responses=UNPROCESSABLE)
    from nebhx.metrics.routes import router as metrics_router
    app.include_router(metrics_router)  # /metrics, where Prometheus looks by default
    app.include_router(metrics_router, prefix="/api", include_in_schema=False)
    docs.install(app)  # Swagger UI from local assets, not a CDN
    _unknown_api(app)
    _mount_editor(app, get_settings().static_dir)
    return app


def _unknown_api(app: FastAPI) -> None:
    """Any other /api path: 404 (405 when the path is known under another method), never the
    editor's page, which the catch-all below serves for every other path."""
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    @app.api_route("/api", methods=methods, include_in_schema=False, dependencies=[VIEWER])
    @app.api_route("/api/{rest:path}", methods=methods, include_in_schema=False, dependencies=[VIEWER])
    def unknown(request: Request) -> JSONResponse:
        path = request.url.path
        allowed = sorted({m for route in iter_route_contexts(app.routes) if route.name != "unknown"
                          and getattr(route, "path_regex", None) is not None and route.path.startswith("/api/")
                          and route.path_regex.match(path) for m in (route.methods or ())})
        if allowed:
            return JSONResponse({"detail": f"{request.method} is not allowed on {request.url.path}"},
                                status_code=405, headers={"Allow": ", ".join(allowed)})
        return JSONResponse({"detail": f"no API route {request.url.path} (see /api/docs)"}, status_code=404)


def _extra_routers() -> list[APIRouter]:
    from nebhx.artifacts.routes import router as artifacts_router
    from nebhx.configs.routes import router as configs_router
    from nebhx.execution.routes import router as execution_router
    from nebhx.hosts.routes import router as hosts_router
    from nebhx.ipam.routes import router as pools_router
    from nebhx.releases.routes import router as releases_router
    from nebhx.mail.routes import router as mail_router
    from nebhx.secrets.routes import router as secrets_router
    from nebhx.triggers.routes import public as triggers_public
    from nebhx.triggers.routes import router as triggers_router
    from nebhx.volumes.routes import router as volumes_router
    return [hosts_router, secrets_router, configs_router, execution_router, mail_router, releases_router,
            artifacts_router, triggers_public, triggers_router, volumes_router, pools_router]


@asynccontextmanager
async def _sweeping(_: FastAPI):
    from nebhx import process
    sweeper = process.sweeper()
    sweeper.start()
    yield
    sweeper.stop()


def _mount_editor(app: FastAPI, dist: Path) -> None:
    @app.get("/{path:path}", include_in_schema=False)
    def editor(path: str):
        if not (dist / "index.html").exists():
            return HTMLResponse("<h1>Nebh-X</h1><p>The editor is not built: run "
                                "<code>npm --prefix frontend ci && npm --prefix frontend run build</code>."
                                " The API is at <a href='/api/docs'>/api/docs</a>.</p>")
        target = (dist / path).resolve()
        if path and target.is_file() and dist.resolve() in target.parents:
            return FileResponse(target)
        return FileResponse(dist / "index.html")
