"""The API's docs page (Swagger UI) served with its own assets: /api/docs works offline.

FastAPI's default page loads Swagger UI from a CDN, so it is blank without internet. The
assets come from the pinned ``fastapi-offline`` package (Swagger UI 5, which reads OpenAPI
3.1) and are served under ``/api/docs-assets/``.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/api/docs-assets"


def assets_dir() -> Path:
    import fastapi_offline
    return Path(fastapi_offline.__file__).resolve().parent / "static"


def install(app: FastAPI) -> None:
    """Add ``GET /api/docs`` and its assets; create the app with ``docs_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI for the API, from same-origin assets."""
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} API",
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS}/favicon.png")
