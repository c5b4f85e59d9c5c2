"""A service on a host from the command line: pin or unpin a staged release, its deploy
history, and its log (followed with -f), all through the control plane and the host's agent."""
from __future__ import annotations

import json
import sys
import time

import typer

from nebhx.cli.client import call

FOLLOW_S = 0.5  # between two reads of a followed log


def pin(host: str = typer.Argument(..., metavar="HOST"), service: str = typer.Argument(..., metavar="SERVICE"),
        release: str = typer.Argument(..., metavar="RELEASE"),
        unpin: bool = typer.Option(False, "--unpin", help="Unpin instead")) -> None:
    """Pin RELEASE of SERVICE on HOST (retention never removes it), or --unpin it (operator)."""
    out = call("POST", "/releases/pin", json={"host": host, "service": service, "release": release,
                                              "pinned": not unpin})
    print(f"{service} {out['release']} on {host}: {'pinned' if out['pinned'] else 'unpinned'}")


def history(host: str = typer.Argument(..., metavar="HOST"), service: str = typer.Argument(..., metavar="SERVICE"),
            instance: str = typer.Option("", "--instance"), as_json: bool = typer.Option(False, "--json")) -> None:
    """Which runs switched SERVICE on HOST, when, from which release to which (newest first)."""
    rows = call("GET", f"/services/{host}/{service}/history", params={"instance": instance})
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for h in rows:
        run = h["run"]
        who = f" by {run['started_by']}" if run.get("started_by") else ""
        print(f"{h['at']}  {h.get('from') or '(none)'} -> {h.get('to')}  run {run['id']} "
              f"({run.get('graph_name')} r{run.get('revision')}, {h['brick']}){who}")
    if not rows:
        print(f"no stored run switched {service} on {host}")


def logs(host: str = typer.Argument(..., metavar="HOST"), service: str = typer.Argument(..., metavar="SERVICE"),
         instance: str = typer.Option("", "--instance"),
         follow: bool = typer.Option(False, "-f", "--follow", help="Keep printing what the service writes"),
         stream: str = typer.Option("both", "--stream", help="out, err or both")) -> None:
    """The tail of SERVICE's log on HOST, read by the host's agent (secrets masked); -f follows it."""
    wanted = ("out", "err") if stream == "both" else (stream,)
    if not set(wanted) <= {"out", "err"}:
        raise typer.BadParameter("out, err or both", param_hint="--stream")
    params: dict = {"instance": instance}
    while True:
        got = call("GET", f"/services/{host}/{service}/log", params=params)
        for name in wanted:
            part = got["streams"][name]
            if part.get("skipped"):
                sys.stderr.write(f"[{part['skipped']} bytes of {name} skipped]\n")
            (sys.stdout if name == "out" else sys.stderr).write(part["text"])
        sys.stdout.flush()
        if not follow:
            return
        params = {"instance": instance, **{n: s["offset"] for n, s in got["streams"].items()}}
        time.sleep(FOLLOW_S)


def register(app: typer.Typer) -> None:
    for command in (pin, history, logs):
        app.command()(command)
