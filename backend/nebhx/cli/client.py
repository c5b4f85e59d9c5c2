"""The CLI's HTTP client for a running server (NEBHX_URL)."""
from __future__ import annotations

from typing import Any

import httpx
import typer
from rich.console import Console

from nebhx.settings import get_settings

err = Console(stderr=True, soft_wrap=True)


def client() -> httpx.Client:
    return httpx.Client(base_url=get_settings().url.rstrip("/") + "/api", timeout=30)


def call(method: str, path: str, **kwargs: Any) -> Any:
    """Call the API; print its error and exit 1 on a 4xx/5xx or when no server answers."""
    try:
        with client() as c:
            resp = c.request(method, path, **kwargs)
    except httpx.TransportError as exc:
        err.print(f"[red]no Nebh-X server at {get_settings().url}[/] ({exc}); start one with "
                  "`nebhx up`, set NEBHX_URL, or use --embedded")
        raise typer.Exit(2) from exc
    if resp.status_code >= 400:
        show_error(resp)
        raise typer.Exit(1)
    if resp.headers.get("content-type", "").startswith("application/json"):
        return resp.json()
    return resp.text


def show_error(resp: httpx.Response) -> None:
    try:
        detail = resp.json().get("detail")
    except ValueError:
        detail = resp.text
    if isinstance(detail, list):
        print_problems(detail)
    else:
        err.print(f"[red]error {resp.status_code}:[/] {detail}")


def print_problems(problems: list[dict[str, Any]]) -> None:
    for p in problems:
        where = ".".join(x for x in (p.get("node"), p.get("port")) if x) or p.get("path") or "graph"
        err.print(f"[red]{where}[/]: {p.get('message')}")
