"""``nebhx brick-packages``: register a brick package (a wheel, a tar, or a folder sent as a
tar) on the control plane, and list the current ones. Agents fetch them by sha256."""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from nebhx.cli.client import call

console = Console()
app = typer.Typer(help="Brick packages: custom bricks every agent fetches from the control plane.",
                  no_args_is_help=True)


def archive_of(path: Path) -> tuple[bytes, str]:
    """The bytes to send and their format: a folder becomes a tar of itself (its own name at the
    top, caches and hidden files left out), a .whl is a wheel, any other file a tar."""
    if path.is_dir():
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            t.add(path, arcname=path.name, filter=_keep)
        return buf.getvalue(), "tar"
    if not path.is_file():
        raise typer.BadParameter(f"{path} is neither a file nor a folder", param_hint="PATH")
    return path.read_bytes(), "wheel" if path.suffix == ".whl" else "tar"


def _keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    name = Path(info.name).name
    if name.startswith(".") or name == "__pycache__" or name.endswith(".pyc"):
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0  # the same folder gives the same archive, hence the same sha256
    return info


@app.command("add")
def add(path: Path = typer.Argument(..., help="A wheel (.whl), a tar, or a folder of bricks"),
        name: str = typer.Option(..., "--name", help="The package's name (a newer registration replaces it)"),
        version: str = typer.Option(..., "--version", help="Shown on every node that runs its bricks"),
        as_json: bool = typer.Option(False, "--json")) -> None:
    """Register a brick package (admins only): agents fetch it, pinned by its sha256."""
    body, fmt = archive_of(path)
    entry = call("POST", "/brick-packages", params={"name": name, "version": version, "format": fmt},
                 content=body, headers={"Content-Type": "application/octet-stream"})
    if as_json:
        print(json.dumps(entry, indent=2))
        return
    console.print(f"registered {entry['name']} {entry['version']} sha256:{entry['sha256']} ({entry['size']} bytes)")


@app.command("list")
def list_packages(as_json: bool = typer.Option(False, "--json")) -> None:
    """The current brick packages: name, version, format and sha256."""
    rows = call("GET", "/brick-packages")
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("name", "version", "format", "sha256", "size", "registered")
    for p in rows:
        table.add_row(p["name"], p["version"], p["format"], p["sha256"], str(p["size"]), p["created_at"] or "")
    console.print(table)
