"""Runs from the command line: start and watch, list, cancel, retry, approve, reject."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from nebhx.cli.client import call, parse_inputs, seen_ago
from nebhx.cli.graphs import load_doc

console = Console()
COLOURS = {"succeeded": "green", "failed": "red", "running": "cyan", "queued": "blue",
           "waiting": "magenta", "skipped": "dim", "cancelled": "yellow", "pending": "white"}


def run(file: Path, input: list[str] = typer.Option([], "--input", "-i", help="Graph input NAME=VALUE"),
        wait: bool = typer.Option(False, "--wait", "-w", help="Watch the run; exit 1 if it fails"),
        embedded: bool = typer.Option(False, help="Start a worker for this one run, no server needed"),
        as_json: bool = typer.Option(False, "--json", help="Print the finished run as JSON")) -> None:
    """Run a graph file (stored by name, a new revision when it changed)."""
    doc, inputs = load_doc(file), parse_inputs(input)
    if embedded:
        raise typer.Exit(_run_embedded(doc, inputs, as_json))
    started = call("POST", "/runs", json={"graph": doc, "inputs": inputs})
    if not wait and not as_json:
        console.print(f"run [bold]{started['id']}[/] started; watch with `nebhx show {started['id']} --wait`")
        return
    raise typer.Exit(_watch(started["id"], lambda rid: call("GET", f"/runs/{rid}"), as_json))


def _run_embedded(doc: Any, inputs: dict[str, str], as_json: bool) -> int:
    from nebhx import process
    from nebhx.graphs.service import ensure_graph
    from nebhx.runs import service
    from nebhx.store.db import session_scope
    from nebhx.settings import get_settings
    log = open(get_settings().home / "embedded-worker.log", "ab")
    worker = subprocess.Popen([sys.executable, "-m", "nebhx.cli.main", "worker", "--queues", "nebhx",
                               "--host", "local"], env=os.environ.copy(), stdout=log, stderr=log)
    sweeper = process.sweeper()
    sweeper.start()
    try:
        with session_scope() as s:
            graph_id, revision = ensure_graph(s, doc=doc)
            run_id, _ = service.create_run(s, graph_id=graph_id, revision=revision, inputs=inputs)

        def fetch(rid: str) -> dict[str, Any]:
            with session_scope() as s:
                return service.get_run(s, run_id=rid).model_dump(mode="json", exclude_unset=True)
        return _watch(run_id, fetch, as_json)
    except Exception as exc:
        from nebhx.graphs.validate import GraphInvalid
        if isinstance(exc, (GraphInvalid, service.BadInputs)):
            from nebhx.cli.client import print_problems
            print_problems([p.as_dict() for p in exc.problems] if isinstance(exc, GraphInvalid)
                           else [{"node": None, "port": None, "message": p["message"]} for p in exc.problems])
            return 1
        raise
    finally:
        sweeper.stop()
        worker.terminate()
        worker.wait(timeout=20)
        log.close()


def _table(run: dict[str, Any]) -> Table:
    table = Table("node", "brick", "status", "time", "detail", title=f"run {run['id']}: {run['status']}")
    for nid, n in run["nodes"].items():
        colour = COLOURS.get(n["status"], "white")
        detail = n.get("error") or ((n.get("wait") or {}).get("reason") if n["status"] == "waiting" else "")
        dur = f"{n['duration_s']:.2f}s" if n.get("duration_s") is not None else ""
        table.add_row(nid, n["brick"], f"[{colour}]{n['status']}[/]", dur, detail or "")
    return table


def _watch(run_id: str, fetch: Callable[[str], dict[str, Any]], as_json: bool) -> int:
    run = fetch(run_id)
    if as_json:
        while run["finished_at"] is None:
            time.sleep(0.2)
            run = fetch(run_id)
        print(json.dumps(run, indent=2))
    else:
        with Live(_table(run), console=console, refresh_per_second=8, transient=False) as live:
            while run["finished_at"] is None:
                time.sleep(0.2)
                run = fetch(run_id)
                live.update(_table(run))
        colour = COLOURS.get(run["status"], "white")
        if not console.is_terminal:
            console.print()
        console.print(f"run {run_id} [{colour}]{run['status']}[/]" + (f": {run['error']}" if run["error"] else ""))
        if run.get("outputs"):
            console.print(_outputs_table(run["outputs"]))
    return 0 if run["status"] == "succeeded" else 1


def _outputs_table(outputs: dict[str, Any]) -> Table:
    """The graph's outputs as the API gives them (secret values are already ******)."""
    table = Table("output", "value", title="outputs")
    for name, value in outputs.items():
        text = value if isinstance(value, str) else json.dumps(value)
        if len(text) > 400:
            text = text[:400] + "… (--json shows all)"
        table.add_row(name, escape(text))
    return table


def _when(iso: str | None) -> str:
    """An ISO time as local 'MM-DD HH:MM:SS': both time columns fit in 80 columns."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%m-%d %H:%M:%S")
    except ValueError:
        return iso


def list_runs(graph: str = typer.Option(None, help="Only runs of this graph id"),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """List runs, newest first."""
    runs = call("GET", "/runs", params={"graph_id": graph} if graph else {})
    if as_json:
        print(json.dumps(runs, indent=2))
        return
    table = Table()
    table.add_column("id", no_wrap=True, min_width=12)
    table.add_column("graph", overflow="fold")
    for head in ("rev", "status", "started", "finished"):
        table.add_column(head, no_wrap=True)
    for r in runs:
        table.add_row(r["id"], r["graph_name"] or r["graph_id"], str(r["revision"]),
                      f"[{COLOURS.get(r['status'], 'white')}]{r['status']}[/]", _when(r["started_at"]),
                      _when(r["finished_at"]))
    console.print(table)


def show(run_id: str, wait: bool = typer.Option(False, "--wait", "-w"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Show a run's nodes; with --wait follow it to the end (exit 1 if it failed)."""
    fetch = lambda rid: call("GET", f"/runs/{rid}")  # noqa: E731
    if wait:
        raise typer.Exit(_watch(run_id, fetch, as_json))
    run = fetch(run_id)
    print(json.dumps(run, indent=2)) if as_json else console.print(_table(run))


def cancel(run_id: str) -> None:
    """Cancel a running run."""
    console.print(f"run {run_id}: {call('POST', f'/runs/{run_id}/cancel')['status']}")


def retry(run_id: str, node: str) -> None:
    """Retry a failed node of a run; its downstream continues when it succeeds."""
    call("POST", f"/runs/{run_id}/nodes/{node}/retry")
    console.print(f"run {run_id}: node {node} queued again")


def _decide(run_id: str, node: str, verb: str, comment: str) -> None:
    # The server records the signed-in user as the approver; there is no name to send.
    run = call("POST", f"/runs/{run_id}/nodes/{node}/{verb}", json={"comment": comment})
    by = ((run["nodes"].get(node) or {}).get("outputs") or {}).get("by", "you")
    console.print(f"run {run_id}: node {node} {'approved' if verb == 'approve' else 'rejected'} by {by}")


def approve(run_id: str, node: str, comment: str = typer.Option("")) -> None:
    """Approve a node that waits for approval (as the signed-in user)."""
    _decide(run_id, node, "approve", comment)


def reject(run_id: str, node: str, comment: str = typer.Option("")) -> None:
    """Reject a node that waits for approval (it fails; rollback branches may start)."""
    _decide(run_id, node, "reject", comment)


def audit(actor: str = typer.Option(None, help="Only calls by this user"),
          action: str = typer.Option(None, help="Only this action, e.g. runs.approve"),
          since: str = typer.Option(None, help="Only calls since this ISO time (UTC without a zone)"),
          limit: int = typer.Option(200, help="At most this many rows (1..5000)"),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """Who changed what, from where, and the answer: every state-changing API call, newest first."""
    params = {k: v for k, v in (("actor", actor), ("action", action), ("since", since)) if v}
    rows = call("GET", "/audit", params={**params, "limit": limit})
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("at", "actor", "action", "target", "status", "from")
    for r in rows:
        table.add_row(r["at"], r["actor"], r["action"], r["target"], str(r["data"].get("status", "")),
                      r.get("address") or "")
    console.print(table)


def hosts(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the hosts whose agents registered, with their state."""
    rows = call("GET", "/hosts")
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("host", "address", "state", "labels", "last seen")
    for h in rows:
        table.add_row(h["name"], h["address"], "[green]up[/]" if h["state"] == "up" else "[red]down[/]",
                      shown_labels(h), h["last_seen"])
    console.print(table)


def shown_labels(host: dict) -> str:
    """``role=web (admin), zone=a``: an admin-set label says so (it wins over the agent's).
    Escaped: an agent declares its labels unchecked, and rich would read ``[...]`` as markup."""
    sources = host.get("label_sources") or {}
    return ", ".join(escape(f"{k}={v}") + (" (admin)" if sources.get(k) == "admin" else "")
                     for k, v in host["labels"].items())


def liveness_cell(live: dict | None) -> str:
    """``alive since 12:00:01, 2 restarts`` (red when unhealthy); empty without a liveness probe."""
    if not live:
        return ""
    colour = {"alive": "green", "unhealthy": "red"}.get(live.get("status") or "", "yellow")
    since = f" since {live['since']}" if live.get("since") else ""
    restarts = f", {live['restarts']} restart(s)" if live.get("restarts") else ""
    last = (live.get("last_probe") or {})
    probe = f", last probe {escape(last.get('error') or 'ok')}" if last else ""
    return f"[{colour}]{live.get('status')}[/]{since}{restarts}{probe}"


def services(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every service on every host: running release, config version, process state, last probe."""
    rows = call("GET", "/services")
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("host", "service", "instance", "release", "config", "state", "probe", "liveness", "address",
                  "seen")
    for r in rows:
        probe = r.get("last_probe") or {}
        shown = "[green]ok[/]" if probe.get("ok") else f"[red]{escape(probe.get('error') or 'failing')}[/]"
        table.add_row(r["host"] + ("" if r["host_state"] == "up" else " [red](down)[/]"), r["service"],
                      r.get("instance") or "", r.get("release") or "", r.get("config_version") or "",
                      r.get("state") or "", shown, liveness_cell(r.get("liveness")), r.get("address") or "",
                      seen_ago(r.get("seen_at")))
    console.print(table)
