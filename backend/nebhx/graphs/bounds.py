"""A graph document over the limits of nebhx.limits, as one Problem naming the path.

Size first (cheap), then nesting, numbers and characters: a document over a limit is refused
before pydantic or jsonschema could recurse into it.
"""
from __future__ import annotations

from nebhx import limits
from nebhx.graphs.problem import Problem


def over_limits(doc: dict) -> Problem | None:
    for key, most in (("nodes", limits.MAX_NODES), ("edges", limits.MAX_EDGES)):
        items = doc.get(key)
        if isinstance(items, list) and len(items) > most:
            return Problem("limit", f"/{key}: {len(items):,} {key}; the limit is {most:,}", path=f"/{key}")
    try:
        limits.check_value(doc)
    except limits.LimitError as exc:
        return Problem("limit", str(exc), *_node_port(doc, exc.path), path=exc.path)
    return None


def _node_port(doc: dict, pointer: str) -> tuple[str | None, str | None]:
    """The node id and param a JSON pointer like /nodes/3/params/x/0 falls in."""
    parts = pointer.split("/")[1:]
    if len(parts) < 2 or parts[0] != "nodes" or not parts[1].isascii() or not parts[1].isdigit():
        return None, None
    nodes = doc.get("nodes")
    raw = nodes[int(parts[1])] if isinstance(nodes, list) and int(parts[1]) < len(nodes) else None
    node = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"#{parts[1]}"
    port = parts[3].replace("~1", "/").replace("~0", "~") if len(parts) >= 4 and parts[2] == "params" else None
    return node, port
