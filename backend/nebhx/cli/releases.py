"""Releases from the command line: what each host runs and keeps, and rollback by hand."""
from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from nebhx.cli.client import call, seen_ago
from nebhx.cli.runs import _watch

console = Console()


def _flags(rel: dict[str, Any]) -> str:
    words = [w for w, on in (("active", rel.get("active")), ("previous", rel.get("previous")),
                             ("prepared", rel.get("prepared")), ("pinned", rel.get("pinned")),
                             ("committed", rel.get("committed_at")),
                             ("rolled back", rel.get("rolled_back"))) if on]
    if rel.get("commit"):  # staged from a build artifact
        words.append(f"commit {rel['commit'][:12]}, build run {rel.get('build_run')}")
    if rel.get("image"):  # staged from oci:NAME@sha256:DIGEST
        words.append(f"image {rel['image'].removeprefix('oci:')[:90]}")
    return f"{rel['id']} ({', '.join(words)})" if words else rel["id"]


def releases(host: str = typer.Option(None, "--host", help="Only this host"),
             service: str = typer.Option(None, "--service", help="Only this service"),
             as_json: bool = typer.Option(False, "--json")) -> None:
    """Releases of each service on each host: active, previous, prepared, pinned, committed,
    rolled back; the config version and health now (as the agents last reported)."""
    params = {k: v for k, v in (("host", host), ("service", service)) if v}
    rows = call("GET", "/releases", params=params)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("host", "service", "active", "phase", "config", "health", "releases (oldest first)", "seen")
    for r in rows:
        health = r.get("health") or {}
        shown = "[green]ok[/]" if health.get("ok") else f"[red]{health.get('error') or 'unknown'}[/]"
        table.add_row(r["host"] + ("" if r["host_state"] == "up" else " [red](down)[/]"),
                      r["service"] + (f"-{r['instance']}" if r.get("instance") else ""),
                      r.get("active") or "", r.get("phase") or "", r.get("config_version") or "", shown,
                      "\n".join(_flags(rel) for rel in r.get("releases") or []), seen_ago(r.get("seen_at")))
    console.print(table)


def rollback(host_arg: str = typer.Argument(None, metavar="HOST", help="The host (or --host)"),
             service_arg: str = typer.Argument(None, metavar="SERVICE", help="The service (or --service)"),
             host: list[str] = typer.Option(None, "--host", help="A host (repeat for several)"),
             service: str = typer.Option(None, "--service", help="The service"),
             to: str = typer.Option(None, "--to", help="Go back to this staged release (its id, or 8+ hex "
                                    "digits of its sha256 or commit) instead of the one before the last switch"),
             run: str = typer.Option("", "--run", help="Roll back what this run switched (default "
                                     "hosts: every host reporting the service; the others are left alone)"),
             batch: int = typer.Option(1, "--batch", min=1, help="Hosts rolled back at once"),
             instance: str = typer.Option("", "--instance", help="Instance name, if any"),
             data: str = typer.Option("keep_new", "--data", help="keep_new or restore_snapshot"),
             lb_name: str = typer.Option("", "--lb", help="HAProxy balancer on each host to drain"),
             lb_stats: str = typer.Option("", "--lb-stats", help="A balancer on its own host: its stats address"),
             lb_agent_port: int = typer.Option(None, "--lb-agent-port", help="With --lb-stats: its agent_port"),
             wait: bool = typer.Option(True, "--wait/--no-wait"),
             as_json: bool = typer.Option(False, "--json")) -> None:
    """Roll a service instance back to the release it ran before its last switch (or --to an
    earlier staged one), on one or more hosts, in one run of rollout.rollback, --batch hosts
    at a time (operator role): `nebhx rollback HOST SERVICE --to RELEASE`. Inside a switch's
    standby period this is a thaw and a balancer change per host."""
    hosts = [*([host_arg] if host_arg else []), *(host or [])]
    service = service or service_arg
    if not hosts and not run:
        raise typer.BadParameter("give HOST (or --host, one or more) or --run", param_hint="--host")
    if not service:
        raise typer.BadParameter("give SERVICE (or --service)", param_hint="SERVICE")
    run_ = call("POST", "/releases/rollback", json={
        "hosts": hosts, "run": run or None, "service": service, "instance": instance,
        "data_policy": data, "lb_name": lb_name, "lb_stats": lb_stats, "lb_agent_port": lb_agent_port,
        "batch": batch, "release": to or None})
    if not wait:
        print(json.dumps(run_, indent=2) if as_json else f"run {run_['id']} started")
        return
    raise typer.Exit(_watch(run_["id"], lambda rid: call("GET", f"/runs/{rid}"), as_json))


def register(app: typer.Typer) -> None:
    app.command()(releases)
    app.command()(rollback)


def why(host: str = typer.Argument(..., metavar="HOST"), service: str = typer.Argument(..., metavar="SERVICE"),
        instance: str = typer.Argument(None, metavar="[INSTANCE]"),
        as_json: bool = typer.Option(False, "--json")) -> None:
    """Why SERVICE runs on HOST: process, release, config, data, the run that switched it, who
    approved, and what ran before."""
    found = call("GET", f"/services/{host}/{service}/why", params={"instance": instance} if instance else {})
    if as_json:
        print(json.dumps(found, indent=2))
        return
    for line in why_lines(found):
        console.print(line, highlight=False, markup=False)


def _link(link: dict[str, Any] | None) -> str:
    if not link:
        return "(not found)"
    who = f", started by {link['started_by']}" if link.get("started_by") else ""
    return (f"run {link['id']} node {link['node']} ({link['brick']}) of graph {link.get('graph_name')} "
            f"[{link.get('graph')}] revision {link.get('revision')}{who}, at {link.get('finished_at')}")


def why_lines(w: dict[str, Any]) -> list[str]:
    p, r, c, d, b = w["process"], w["release"], w["config"], w["data"], w["before"]
    lines = [f"{w['service']}{'/' + w['instance'] if w.get('instance') else ''} on {w['host']}",
             f"process: pid {p.get('pid')} ({p.get('state')}) since {p.get('since')}",
             f"release: {r.get('id')} from {r.get('source')} sha256 {r.get('sha256')}"
             + (f", commit {r['commit']}, build run {r.get('build_run')}" if r.get("commit") else ""),
             f"config: {c.get('version')}" + (f" ({c['missing']})" if c.get("missing") else "")]
    lines += [f"  {f}: sha256 {h}" for f, h in (c.get("files") or {}).items()]
    lines += [f"  {k} = {v.get('value')!r} from {v.get('layer')}" for k, v in (c.get("explain") or {}).items()]
    lines.append(f"data: volume {d.get('volume')}, snapshot at the switch {d.get('snapshot_at_switch')}")
    lines.append(f"switched by: {_link(w.get('switched_by'))}")
    lines += [f"approved at {a['node']} by {', '.join(map(str, a['by']))}"
              + (f" ({'; '.join(x for x in a['comments'] if x)})" if any(a["comments"]) else "")
              if a.get("approved") else f"gate {a['node']}: {a['status']}" for a in w["approvals"]]
    lines.append(f"before: release {b.get('release')} (pid {b.get('pid')}), switched by {_link(b.get('switched_by'))}")
    if w.get("missing"):
        lines.append(f"missing: {w['missing']}")
    return lines
