"""Address pools from the command line: usage, who holds which address, releasing one,
deleting a pool (GET/DELETE /api/pools...)."""
from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nebhx.cli.client import call

console = Console()
app = typer.Typer(help="Address pools (net.pool, net.allocate): list, show, release, delete.")


@app.callback(invoke_without_command=True)
def pools(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Each pool: its network, size, and how many addresses are allocated."""
    if ctx.invoked_subcommand is not None:
        return
    rows = call("GET", "/pools")
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("pool", "cidr", "allocated", "free", "reserved")
    for p in rows:
        table.add_row(escape(p["name"]), p["cidr"], f"{p['allocated']} of {p['size']}", str(p["free"]),
                      ", ".join(p["reserved"]) or "-")
    console.print(table)


@app.command("show")
def show(name: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """One pool's allocations: address, owner, the run that allocated it."""
    pool = call("GET", f"/pools/{name}")
    if as_json:
        print(json.dumps(pool, indent=2))
        return
    console.print(f"pool {escape(pool['name'])} {pool['cidr']}: {pool['allocated']} of {pool['size']} allocated")
    table = Table("address", "owner", "run", "since")
    for a in pool["allocations"]:
        table.add_row(a["cidr"], escape(a["owner"]), a["run_id"] or "-", a["created_at"] or "-")
    console.print(table)


@app.command("release")
def release(name: str, owner: str) -> None:
    """Release OWNER's address in pool NAME (operator)."""
    done = call("DELETE", f"/pools/{name}/allocations", params={"owner": owner})
    print(f"released {done['released']} of {owner}" if done["released"] else f"{owner} held no address in {name}")


@app.command("delete")
def delete(name: str, force: bool = typer.Option(False, "--force", help="Also free its allocations")) -> None:
    """Delete pool NAME (admin); refused while it holds allocations unless --force."""
    done = call("DELETE", f"/pools/{name}", params={"force": force})
    print(f"deleted pool {name}" + (f" and its {done['released']} allocations" if done["released"] else ""))
