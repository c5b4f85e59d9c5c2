"""``nebhx config``: layered config profiles, versioned on the server."""
from __future__ import annotations

import json
from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table

from nebhx.cli.client import call, err

app = typer.Typer(help="Layered config profiles: save, list, show, explain.", no_args_is_help=True)
console = Console()


@app.command("set")
def set_profile(name: str, file: Path = typer.Argument(..., help="Profile as JSON or YAML")) -> None:
    """Save a profile (a new revision when it changed)."""
    try:
        doc = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        err.print(f"[red]{file}[/]: {exc}")
        raise typer.Exit(1) from exc
    saved = call("PUT", f"/config/profiles/{name}", json=doc)
    console.print(f"profile {name} revision {saved['revision']}" + ("" if saved["changed"] else " (unchanged)"))


@app.command("list")
def list_profiles(as_json: bool = typer.Option(False, "--json")) -> None:
    """List profiles with their newest revision and parents."""
    rows = call("GET", "/config/profiles")
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("profile", "revision", "parents", "updated")
    for r in rows:
        table.add_row(r["name"], str(r["revision"]), ", ".join(r["parents"]), r["updated_at"])
    console.print(table)


@app.command()
def show(name: str, revision: int = typer.Option(None)) -> None:
    """Print a profile (newest revision unless --revision)."""
    print(json.dumps(call("GET", f"/config/profiles/{name}", params={"revision": revision} if revision else {}),
                     indent=2))


@app.command()
def explain(name: str, host: str = typer.Option(None), cluster: str = typer.Option(None),
            store: str = typer.Option("database", help="database, or etcd (the server's NEBHX_CONFIG_ETCD_URL)"),
            as_json: bool = typer.Option(False, "--json")) -> None:
    """Every final key for a host, with the layer that set it and what it overrode."""
    params = {k: v for k, v in (("host", host), ("cluster", cluster), ("store", store)) if v}
    res = call("GET", f"/config/profiles/{name}/explain", params=params)
    if as_json:
        print(json.dumps(res, indent=2))
        return
    table = Table("key", "value", "set by", "overrode", title=f"{name} for {host or 'any host'}: "
                  f"version {res['version']}")
    for key, entry in sorted(res["explain"].items()):
        overrode = ", ".join(f"{o['layer']}={json.dumps(o['value'])}" for o in entry.get("overrode", []))
        set_by = entry["layer"] + (f"\n({entry['source']})" if entry.get("source") else "")
        table.add_row(key, json.dumps(entry["value"]), set_by, overrode)
    console.print(table)
    console.print("layers, least specific first: " + " -> ".join(res["layers"]))
