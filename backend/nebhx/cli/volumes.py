"""Volumes from the command line: each host's volumes and snapshots, the drivers installed
here, and deleting or pruning snapshots (a run on the volume's host)."""
from __future__ import annotations

import json
import time
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nebhx.cli.client import call
from nebhx.cli.runs import _watch

console = Console()
app = typer.Typer(help="Volumes and their snapshots: list, drivers, delete, prune.")


def size(n: int | None) -> str:
    if n is None:
        return "-"
    value, unit = float(n), 0
    while value >= 1024 and unit < 4:
        value, unit = value / 1024, unit + 1
    return f"{value:.0f} B" if unit == 0 else f"{value:.1f} {'KMGT'[unit - 1]}B"


def _snap(s: dict[str, Any]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s["created_at"])) if s.get("created_at") else "?"
    extra = f", release {s['release']}" if s.get("release") else ""
    return f"{s['id']} ({when}, {s.get('kind') or 'manual'}, {size(s.get('size'))}{extra})"


@app.callback(invoke_without_command=True)
def volumes(ctx: typer.Context, host: str = typer.Option(None, "--host", help="Only this host"),
            volume: str = typer.Option(None, "--volume", help="Only this volume (name or URL)"),
            as_json: bool = typer.Option(False, "--json")) -> None:
    """Each host's volumes: driver, usage, retention and snapshots (as the agents last reported)."""
    if ctx.invoked_subcommand is not None:
        return
    rows = call("GET", "/volumes", params={k: v for k, v in (("host", host), ("volume", volume)) if v})
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("host", "volume", "driver", "used", "retention", "snapshots (oldest first)")
    for r in rows:
        rule = r.get("retention") or {}
        kept = ", ".join(x for x in (rule.get("keep_last") is not None and f"last {rule['keep_last']}",
                                     rule.get("keep_days") is not None and f"{rule['keep_days']} days") if x)
        used = size(r.get("used")) + (f" of {size(r['capacity'])}" if r.get("capacity") else "")
        table.add_row(r["host"] + ("" if r["host_state"] == "up" else " [red](down)[/]"),
                      f"{escape(r['name'])}\n[dim]{escape(r['url'])}[/]", r["driver"], used, kept or "keep all",
                      f"[red]{escape(r['error'])}[/]" if r.get("error") else
                      "\n".join(escape(_snap(s)) for s in r["snapshots"]) or "-")
    console.print(table)


@app.command("drivers")
def drivers(as_json: bool = typer.Option(False, "--json")) -> None:
    """The volume drivers installed on this machine (entry points of group nebhx.volumes)."""
    from nebhx.runtime.storage import registry
    found = registry.describe()
    if as_json:
        print(json.dumps(found, indent=2))
        return
    table = Table("driver", "package", "here", "what", "options")
    for d in found:
        here = "[red]does not load[/]" if d.get("error") else \
            ("[green]yes[/]" if d["unavailable"] is None else f"[yellow]no: {escape(str(d['unavailable']))}[/]")
        table.add_row(str(d["name"]), str(d["package"]), here, escape(str(d.get("summary") or d.get("error"))),
                      "\n".join(f"{k}: {escape(v)}" for k, v in dict(d.get("options") or {}).items()))
    console.print(table)


def _started(run: dict[str, Any], wait: bool, as_json: bool) -> None:
    if not wait:
        print(json.dumps(run, indent=2) if as_json else f"run {run['id']} started")
        return
    raise typer.Exit(_watch(run["id"], lambda rid: call("GET", f"/runs/{rid}"), as_json))


@app.command("delete")
def delete(host: str = typer.Option(..., "--host", help="The volume's host"),
           volume_url: str = typer.Argument(..., help="The volume, <driver>://<host>/<path>"),
           snapshot: str = typer.Argument(..., help="The snapshot id"),
           wait: bool = typer.Option(True, "--wait/--no-wait"), as_json: bool = typer.Option(False, "--json")) -> None:
    """Delete one snapshot (a run of storage.delete_snapshot on the host; operator role)."""
    body = {"host": host, "volume_url": volume_url, "snapshot": snapshot}
    _started(call("POST", "/volumes/snapshots/delete", json=body), wait, as_json)


@app.command("prune")
def prune(host: str = typer.Option(..., "--host", help="The volume's host"),
          volume_url: str = typer.Argument(..., help="The volume, <driver>://<host>/<path>"),
          keep_last: int = typer.Option(None, "--keep-last", help="Keep the newest N"),
          keep_days: float = typer.Option(None, "--keep-days", help="Keep those younger than this"),
          wait: bool = typer.Option(True, "--wait/--no-wait"), as_json: bool = typer.Option(False, "--json")) -> None:
    """Remove older snapshots by a rule, default the volume's own (a run of storage.prune; operator)."""
    body = {"host": host, "volume_url": volume_url, "keep_last": keep_last, "keep_days": keep_days}
    _started(call("POST", "/volumes/prune", json={k: v for k, v in body.items() if v is not None}), wait, as_json)
