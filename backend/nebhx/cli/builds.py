"""``nebhx artifacts`` and ``nebhx trigger ...``: the artifact store and push triggers."""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from nebhx.cli.client import call, server_url

console = Console()
trigger_app = typer.Typer(help="Triggers: webhooks that start a graph's run on a push.", no_args_is_help=True)


def artifacts(name: str = typer.Option(None, "--name", help="Only artifacts of this name"),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """Stored build artifacts, newest first: name, sha256, size and the commit and run that built it."""
    rows = call("GET", "/artifacts", params={"name": name} if name else {})
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("name", "sha256", "size", "commit", "built by", "created")
    for a in rows:
        prov = a.get("provenance") or {}
        table.add_row(a["name"], a["sha256"][:16], str(a["size"]), (prov.get("commit") or "")[:12],
                      f"{prov.get('run', '')}/{prov.get('node', '')}", a["created_at"] or "")
    console.print(table)


@trigger_app.command("list")
def list_triggers(as_json: bool = typer.Option(False, "--json")) -> None:
    """Triggers the stored graphs declare, with the runs each started last."""
    rows = call("GET", "/triggers")
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("trigger", "graph", "repository / schedule", "refs", "last runs")
    for t in rows:
        runs = "\n".join(f"{r['id']} {r['status']} {str(r.get('commit') or '')[:12]}" for r in t["runs"])
        if t.get("kind") == "schedule":  # cron, next tick and skipped ticks instead of a repository
            s = t["schedule"]
            what = f"cron {s['cron']}, next {s['next_at']}, {s['skipped']} skipped" + (
                f"\n{s['last_skip_reason']}" if s.get("last_skip_reason") else "")
            table.add_row(t["name"], t["graph_name"], what, "", runs)
            continue
        if t.get("kind") == "etcd":  # the watched prefix and the last revision taken
            e = t["etcd"]
            table.add_row(t["name"], t["graph_name"], f"etcd {e['endpoint']} {e['prefix']}, "
                          f"revision {e['last_revision']}", "", runs)
            continue
        table.add_row(t["name"], t["graph_name"], str(t.get("repository")), ", ".join(t.get("refs") or ["*"]), runs)
    console.print(table)


@trigger_app.command("install-hook")
def install_hook(repo: Path = typer.Argument(..., help="A bare git repository"),
                 name: str = typer.Argument(..., help="The trigger's name (meta.triggers)"),
                 secret: str = typer.Option(..., "--secret", envvar="NEBHX_TRIGGER_SECRET", prompt=True,
                                            hide_input=True, help="The trigger's secret (as stored)"),
                 url: str = typer.Option(None, "--url", help="The server, default NEBHX_URL"),
                 repository: str = typer.Option(None, "--repository",
                                                help="How the payload names the repository; default its path"),
                 force: bool = typer.Option(False, "--force", help="Replace a post-receive hook not made by nebhx")) -> None:
    """Write a post-receive hook into a bare repository that calls the trigger's webhook,
    signed with its secret, for each pushed ref."""
    from nebhx.triggers.hook import install_hook as install
    target = f"{(url or server_url()).rstrip('/')}/api/triggers/{name}"
    try:
        hook = install(repo=repo, url=target, secret=secret, repository=repository, force=force)
    except (ValueError, FileExistsError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    print(f"{hook}: each push is sent to {target}")
