"""Palette and graph documents: bricks, validate, import, export."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nebhx.cli.client import call, err, parse_inputs, print_problems

console = Console()


def load_doc(path: Path) -> Any:
    """The file's JSON within the API's limits (nesting, numbers, characters): a file the
    server would refuse is refused here with the same words, never with a traceback."""
    from nebhx import limits
    try:
        return limits.loads(path.read_bytes())
    except FileNotFoundError:
        err.print(f"[red]{path}[/]: no such file")
    except IsADirectoryError:
        err.print(f"[red]{path}[/]: is a directory")
    except limits.LimitError as exc:
        err.print(f"[red]{path}[/]: over a limit at {escape(str(exc))}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        err.print(f"[red]{path}[/]: not valid JSON: {exc}")
    raise typer.Exit(1)


def bricks(as_json: bool = typer.Option(False, "--json", help="Print the palette as JSON")) -> None:
    """List the palette (loaded locally from the block folders and entry points)."""
    from nebhx.bricks.registry import get_registry
    from nebhx.engine.library import palette_entries
    palette = get_registry().palette(palette_entries)
    if as_json:
        print(json.dumps(palette, indent=2))
        return
    table = Table("id", "title", "category", "inputs", "outputs", "parent")
    for b in palette["bricks"]:
        ports = lambda ps: ", ".join(f"{p['name']}{'*' if p.get('required') else ''}:{p['type']}" for p in ps)  # noqa: E731
        table.add_row(b["id"], b["title"], b["category"], ports(b["inputs"]), ports(b["outputs"]),
                      b["parent"] or "")
    console.print(table)
    for e in palette["errors"]:
        err.print(f"[red]could not load {e['source']}[/]: {e['message']}")


def validate(file: Path, as_json: bool = typer.Option(False, "--json")) -> None:
    """Validate a graph file; exit 1 and list every problem when it is not valid."""
    from nebhx.bricks.registry import get_registry
    from nebhx.graphs.validate import validate_graph
    _, problems = validate_graph(load_doc(file), get_registry())
    if as_json:
        print(json.dumps({"ok": not problems, "problems": [p.as_dict() for p in problems]}, indent=2))
    elif problems:
        print_problems([p.as_dict() for p in problems])
    else:
        console.print(f"[green]{file}: valid[/]")
    if problems:
        raise typer.Exit(1)


def import_(file: Path, graph: str = typer.Option(None, help="Save as a new revision of this graph id"),
            as_json: bool = typer.Option(False, "--json")) -> None:
    """Store a graph file on the server (a new graph, or a new revision with --graph)."""
    doc = load_doc(file)
    saved = call("PUT", f"/graphs/{graph}", json=doc) if graph else call("POST", "/graphs", json=doc)
    if as_json:
        print(json.dumps(saved))
    else:
        console.print(f"saved [bold]{saved['id']}[/] revision {saved['revision']}")


def export(graph_id: str, revision: str = typer.Option("latest", help="Revision number"),
           output: Path = typer.Option(None, "-o", help="Write to this file instead of stdout")) -> None:
    """Export a stored graph revision as JSON, exactly as it was saved."""
    doc = call("GET", f"/graphs/{graph_id}/revisions/{revision}")
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    if output:
        output.write_text(text + "\n")
    else:
        print(text)


def secret(name: str = typer.Argument(..., metavar="NAME", help="The secret's name, or rotate-key"),
           value: str = typer.Option(None, help="The value (default: read from stdin)")) -> None:
    """Store a secret on the server; graphs refer to it as {"$secret": NAME}.

    `nebhx secret rotate-key`: on the control plane, puts a new key in the key file and
    re-seals every sealed value of the store with it (the old keys are then dropped).
    """
    import sys
    if name == "rotate-key" and value is None:
        rotate_key()
        return
    if value is None:
        value = typer.prompt(f"value of {name}", hide_input=True) if sys.stdin.isatty() else sys.stdin.read().rstrip("\n")
    call("PUT", f"/secrets/{name}", json={"value": value})
    console.print(f"secret {name} stored")


def rotate_key() -> None:
    from nebhx.sealing.keys import key_file
    from nebhx.secrets.rotate import RotateRefused
    from nebhx.secrets.rotate import rotate_key as rotate
    try:
        count = rotate()
    except RotateRefused as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    console.print(f"re-sealed {count} values with a new key; {key_file()} holds only that key")


def plan(graph: str = typer.Argument(..., metavar="GRAPH", help="A graph file, or a stored graph's id"),
         input: list[str] = typer.Option([], "--input", "-i", help="Graph input NAME=VALUE"),
         revision: int = typer.Option(None, help="With a graph id: this revision (default: latest)"),
         as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON"),
         show_diff: bool = typer.Option(True, "--diff/--no-diff", help="Print the config files' diffs")) -> None:
    """Show what a run would do, node by node and host by host, without running anything.

    Each host's part is planned by its own agent, from its own state; a host whose agent is
    not running or does not answer in time is "cannot tell", and says why."""
    body: dict[str, Any] = {"inputs": parse_inputs(input)}
    if Path(graph).exists() or graph.endswith(".json"):
        body["graph"] = load_doc(Path(graph))
    else:
        body.update(graph_id=graph, revision=revision)
    planned = call("POST", "/graphs/plan", json=body)
    if as_json:
        print(json.dumps(planned, indent=2))
        return
    table = Table("node", "brick", "effect", title=f"plan of {planned['graph']} (nothing was run)")
    diffs: list[tuple[str, dict]] = []
    for nid, n in planned["nodes"].items():
        when = f" [dim]({n['when']})[/]" if n.get("when") else ""
        table.add_row(escape(nid), n["brick"], escape(str(n["effect"])) + when + _details(n))
        diffs += [(nid, f) for f in (n.get("config") or {}).get("files") or [] if isinstance(f, dict)]
        for item in n.get("items", []):
            where = f" @ {item['host']}" if item.get("host") else ""
            table.add_row(f"  {escape(item['id'])}", f"batch {item['batch']}{escape(where)}",
                          escape(str(item["effect"])) + _details(item))
            diffs += [(item["id"], f) for f in (item.get("config") or {}).get("files") or [] if isinstance(f, dict)]
    console.print(table)
    for where, f in diffs if show_diff else []:
        console.print(f"[bold]{escape(where)}[/]: {escape(f['file'])} {f['change']}")
        console.print(escape(f.get("diff") or ""), end="", highlight=False)
    console.print(f"planned in {planned['elapsed_s'] * 1000:.0f} ms")


def _details(entry: dict) -> str:
    """What the run changes on the host, in one dim line: release, config, restart, balancer, snapshot."""
    words = []
    release, config = entry.get("release") or {}, entry.get("config") or {}
    if "before" in release and release.get("before") != release.get("after"):
        words.append(f"release {release.get('before') or '(none)'} -> {release.get('after')}")
    if config.get("after") and config.get("before", config.get("running")) != config["after"]:
        files = [f if isinstance(f, str) else f"{f['file']} {f['change']}" for f in config.get("files") or []]
        words.append(f"config {config.get('before', config.get('running')) or '(none)'} -> {config['after']}"
                     + (f" ({', '.join(files)})" if files else ""))
    if entry.get("restart"):
        words.append("restart")
    bal = entry.get("balancer")
    if isinstance(bal, dict):
        steps = bal.get("steps") or [f"{len(bal.get('before') or [])} -> {len(bal.get('after') or [])} backends"]
        words.append(f"balancer {bal.get('lb')}: {', '.join(steps)}")
    if entry.get("snapshot"):
        words.append(f"snapshot of {entry['snapshot'].get('volume')}")
    return f"\n[dim]{escape('; '.join(words))}[/]" if words else ""


def diff(graph: str = typer.Argument(..., metavar="GRAPH", help="A stored graph's id"),
         rev_a: int = typer.Argument(None, metavar="[REV_A]", help="Default: the revision before REV_B"),
         rev_b: int = typer.Argument(None, metavar="[REV_B]", help="Default: the latest revision"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """What changed between two revisions of a stored graph (secrets by reference only).

    With one revision, compares it with the latest."""
    params = {k: v for k, v in (("from", rev_a), ("to", rev_b)) if v is not None}
    found = call("GET", f"/graphs/{graph}/diff", params=params)
    if as_json:
        print(json.dumps(found, indent=2))
        return
    console.print(f"[bold]{escape(found['graph'])}[/]: revision {found['from']} -> {found['to']}")
    for line in diff_lines(found):
        console.print(line, highlight=False)


def _show(value: Any) -> str:
    return escape(json.dumps(value, ensure_ascii=False) if value is not None else "(unset)")


def diff_lines(found: dict[str, Any]) -> list[str]:
    """Added in green (+), removed in red (-), changed in yellow (~), a field per line."""
    if found["same"]:
        return ["no change" + (f" (moved on the canvas: {', '.join(found['nodes']['moved'])})"
                               if found["nodes"]["moved"] else "")]
    nodes, out = found["nodes"], []
    if found.get("name"):
        out.append(f"[yellow]~ name[/]: {_show(found['name']['before'])} -> {_show(found['name']['after'])}")
    out += [f"[green]+ node {escape(n['id'])}[/] ({n['brick']})" for n in nodes["added"]]
    out += [f"[red]- node {escape(n['id'])}[/] ({n['brick']})" for n in nodes["removed"]]
    for n in nodes["changed"]:
        out.append(f"[yellow]~ node {escape(n['id'])}[/] ({n['brick']})")
        out += [f"    {escape(c['field'])}: {_show(c['before'])} -> {_show(c['after'])}" for c in n["changes"]]
    out += [f"[green]+ wire {escape(e)}[/]" for e in found["edges"]["added"]]
    out += [f"[red]- wire {escape(e)}[/]" for e in found["edges"]["removed"]]
    for kind in ("inputs", "outputs"):
        what = kind[:-1]
        out += [f"[green]+ {what} {escape(n)}[/]" for n in found[kind]["added"]]
        out += [f"[red]- {what} {escape(n)}[/]" for n in found[kind]["removed"]]
        out += [f"[yellow]~ {what} {escape(c['name'])}[/]: {_show(c['before'])} -> {_show(c['after'])}"
                for c in found[kind]["changed"]]
    return out
