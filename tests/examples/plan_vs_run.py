"""Plan then run gives what the plan said: a plan's entries against a finished run's nodes.

For every node, fan-out item and composite child that the run ran to success, each output the
plan could tell must be what the run output, its ``changes`` must be the run's ``changed``, and
a plan that said the node would fail is wrong. What the plan could not tell ("(from x.y)",
"(input x)", a masked secret) is not compared, but counted: a host item of a rollout brick
that ran is expected to have been told, unless another node changes the same thing on its host
with no order between them (``races``: which goes first is known only at run time).
"""
from __future__ import annotations

from typing import Any

TOLD = ("rollout.prepare", "rollout.switch", "rollout.commit", "release.switch", "storage.volume",
        "config.render", "hosts.select", "hosts.split")


def unknown(value: Any) -> bool:
    if isinstance(value, str):
        return (value.startswith("(") and value.endswith(")")) or "******" in value
    if isinstance(value, dict):
        return any(unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(unknown(v) for v in value)
    return False


def _entries(nodes: dict[str, Any]) -> list[tuple[str, dict]]:
    out = []
    for nid, entry in nodes.items():
        out.append((nid, entry))
        out += [(item["id"], item) for item in entry.get("items", [])]
        out += _entries(entry.get("children", {}))
    return out


def _ran(run_nodes: dict[str, Any]) -> dict[str, dict]:
    out = {}
    for nid, node in run_nodes.items():
        out[nid] = node
        out.update({i["id"]: i for i in node.get("items", [])})
        out.update(_ran({c["id"]: c for c in node.get("children", [])}))
    return out


def compare(plan_nodes: dict[str, Any], run_nodes: dict[str, Any]) -> tuple[list[str], int, list[str]]:
    """(mismatches, values compared, rollout entries that ran but the plan could not tell)."""
    ran, wrong, compared, untold = _ran(run_nodes), [], 0, []
    for eid, entry in _entries(plan_nodes):
        node = ran.get(eid)
        if node is None or node["status"] != "succeeded" or "batches" in entry:
            continue
        if entry.get("fails"):
            wrong.append(f"{eid}: the plan said {entry['effect']!r}; the run succeeded")
            continue
        outs = entry.get("outputs") if isinstance(entry.get("outputs"), dict) else {}
        for port, value in outs.items():
            if port in node["outputs"] and not unknown(value):
                compared += 1
                if node["outputs"][port] != value:
                    wrong.append(f"{eid}.{port}: planned {value!r}, the run gave {node['outputs'][port]!r}")
        if entry.get("changes") in (True, False) and isinstance(node["outputs"].get("changed"), bool):
            compared += 1
            if entry["changes"] != node["outputs"]["changed"]:
                wrong.append(f"{eid}: planned changes={entry['changes']}, the run changed={node['outputs']['changed']}"
                             f" ({entry['effect']})")
        if entry.get("brick") in TOLD and entry.get("changes") is None and not entry.get("races"):
            untold.append(f"{eid}: {entry['effect']}")
    return wrong, compared, untold
