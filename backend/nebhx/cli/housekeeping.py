"""Housekeeping: run retention (`nebhx gc`, `nebhx retention`) and deletes (`nebhx delete`)."""
from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from nebhx.cli.client import call

console = Console()
delete_app = typer.Typer(help="Delete a stored graph or secret (refused while something uses it).",
                         no_args_is_help=True)


def gc(graph: str = typer.Option(None, "--graph", help="Only this graph's runs"),
       dry_run: bool = typer.Option(False, "--dry-run", help="List what would go, delete nothing"),
       as_json: bool = typer.Option(False, "--json")) -> None:
    """Delete the runs retention no longer keeps, with their logs; running runs always stay.

    Each graph keeps its last N runs or those of the last N days (`nebhx retention`), else
    the server's NEBHX_RETAIN_RUNS / NEBHX_RETAIN_DAYS; the server also sweeps on its own."""
    params: dict[str, Any] = {"dry_run": dry_run}
    if graph:
        params["graph_id"] = graph
    done = call("POST", "/gc", params=params)
    if as_json:
        print(json.dumps(done, indent=2))
        return
    verb = "would delete" if done["dry_run"] else "deleted"
    for gid, runs in done["graphs"].items():
        console.print(f"{escape(gid)}: {verb} {len(runs)} runs ({escape(', '.join(runs[:5]))}"
                      f"{', ...' if len(runs) > 5 else ''})", highlight=False)
    console.print(f"{verb} {done['deleted']} runs", highlight=False)


def retention(graph: str = typer.Argument(..., metavar="GRAPH", help="A stored graph's id"),
              keep_runs: int = typer.Option(None, "--keep-runs", min=1, help="Keep its last N runs"),
              keep_days: float = typer.Option(None, "--keep-days", min=0.001, help="Keep its runs of the last N days")) -> None:
    """Set how many of a graph's runs housekeeping keeps (neither option: the server's defaults)."""
    own = call("PUT", f"/graphs/{graph}/retention", json={"keep_runs": keep_runs, "keep_days": keep_days})
    console.print(f"{escape(graph)}: " + (", ".join(f"{k} {v:g}" for k, v in own.items() if v is not None)
                                          or "the server's defaults"), highlight=False)


@delete_app.command("graph")
def delete_graph(graph: str = typer.Argument(..., metavar="GRAPH", help="A stored graph's id")) -> None:
    """Delete a graph, its revisions and runs; refused while a trigger, another graph or a run uses it."""
    done = call("DELETE", f"/graphs/{graph}")
    console.print(f"deleted graph {escape(done['graph'])} ({escape(done['name'])}): {done['revisions']} "
                  f"revisions, {done['runs']} runs, {done['secrets']} sealed input defaults", highlight=False)


@delete_app.command("secret")
def delete_secret(name: str = typer.Argument(..., metavar="NAME")) -> None:
    """Delete a stored secret; refused while a stored graph refers to it."""
    call("DELETE", f"/secrets/{name}")
    console.print(f"deleted secret {escape(name)}", highlight=False)
