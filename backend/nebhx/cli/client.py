"""The CLI's HTTP client for a running server (NEBHX_URL), signed in with NEBHX_TOKEN or the
token ``nebhx login`` stored for that server."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console

from nebhx.settings import get_settings

err = Console(stderr=True, soft_wrap=True)


def credentials_file() -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    return base / "nebhx" / "credentials.json"


def server_url() -> str:
    return get_settings().url.rstrip("/")


def load_credentials() -> dict[str, dict[str, Any]]:
    try:
        return json.loads(credentials_file().read_text())
    except (FileNotFoundError, ValueError):
        return {}


def save_credentials(creds: dict[str, dict[str, Any]]) -> None:
    """Write the file readable by its owner only (it holds bearer tokens)."""
    path = credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(creds, f, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def token() -> str | None:
    return os.environ.get("NEBHX_TOKEN") or load_credentials().get(server_url(), {}).get("token")


def client() -> httpx.Client:
    bearer = token()
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return httpx.Client(base_url=server_url() + "/api", timeout=30, headers=headers)


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
    if resp.status_code == 401:
        err.print("sign in with `nebhx login` or set NEBHX_TOKEN")


def print_problems(problems: list[dict[str, Any]]) -> None:
    for p in problems:
        where = ".".join(x for x in (p.get("node"), p.get("port")) if x) or p.get("path") or "graph"
        err.print(f"[red]{where}[/]: {p.get('message')}")


def seen_ago(at: str | None, now: float | None = None) -> str:
    """``4 s ago`` for an ISO time an agent reported (when it looked at a service), so a
    view's row says how old it is; ``never`` without one."""
    import time
    from datetime import datetime
    if not at:
        return "never"
    try:
        then = datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return at
    age = max(0.0, (time.time() if now is None else now) - then)
    return f"{age:.0f} s ago" if age < 120 else f"{age / 60:.0f} min ago" if age < 7200 else f"{age / 3600:.0f} h ago"


def parse_inputs(pairs: list[str]) -> dict[str, str]:
    """``--input NAME=VALUE`` options as a map (``nebhx run`` and ``nebhx plan``)."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            err.print(f"[red]--input {pair!r}[/]: expected NAME=VALUE")
            raise typer.Exit(2)
        k, v = pair.split("=", 1)
        out[k] = v
    return out
