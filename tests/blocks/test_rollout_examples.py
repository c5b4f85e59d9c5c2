"""The rollout examples as a newcomer opens them: valid, laid out without a node on another
(boxes as the editor draws them: frontend/src/lib/nodeBox.ts), and the rollback path in
batches like the rest."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from nebhx.bricks.registry import load_registry
from nebhx.graphs.validate import validate_graph

ROOT = Path(__file__).resolve().parents[2]
PALETTE = load_registry([ROOT / "blocks"])
EXAMPLES = ("canary-update.json", "sync-update.json")
WIDTH = 320  # the widest a node is drawn


def box(node: dict) -> tuple[float, float, float, float]:
    spec = PALETTE.specs[node["brick"]]
    rows = max(len(spec["inputs"]), len(spec["outputs"]))
    height = 2 + 26 + 22 + 8 + rows * 18 + max(0, rows - 1) * 2
    return node["position"]["x"], node["position"]["y"], WIDTH, height


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_example_is_valid_and_no_node_lies_on_another(name):
    doc = json.loads((ROOT / "examples" / name).read_text())
    graph, problems = validate_graph(doc, PALETTE, library={})
    assert graph is not None and problems == []
    boxes = {n["id"]: box(n) for n in doc["nodes"]}
    over = [(a, b) for a, (x, y, w, h) in boxes.items() for b, (u, v, p, q) in boxes.items()
            if a < b and x < u + p and u < x + w and y < v + q and v < y + h]
    assert over == []


def test_the_canary_rolls_back_one_host_at_a_time():
    doc = json.loads((ROOT / "examples" / "canary-update.json").read_text())
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert nodes["rollback"]["batch"] == 1 and nodes["rest"]["batch"] == 1
    for nid in ("canary", "rest", "rollback"):
        assert nodes[nid]["params"]["lb_stats"] == {"$input": "lb_stats"}
