"""Every plan entry says outright whether a run would change something (`changes`: true, false,
or None when it cannot tell) or fail (`fails`): the editor's badges read these, not the words."""
from __future__ import annotations

from pathlib import Path

from nebhx import Context
from nebhx.bricks.base import Unknown
from nebhx.bricks.inventory import HostInfo, StaticInventory
from nebhx.bricks.registry import get_registry, load_registry
from nebhx.engine.dryrun import plan_graph
from nebhx.graphs.models import Graph
from test_plan import canary

ROOT = Path(__file__).resolve().parents[2]
HOSTS = StaticInventory([HostInfo(name=f"web{i}", labels={"role": "web"},
                                  services=({"service": "app", "release": "r1"},) if i == 0 else ())
                         for i in range(4)])


def test_every_built_in_brick_that_plans_declares_changes():
    palette = load_registry([ROOT / "blocks"])
    planners = [cls for cls in palette.bricks.values() if cls.plans()]
    assert len(planners) >= 10
    for cls in planners:
        unknown = {name: Unknown(f"(from x.{name})") for name in cls.Inputs.model_fields}
        told = cls().plan(Context(run_id="plan", inventory=HOSTS), cls.Inputs.model_construct(**unknown))
        assert "changes" in told and told["changes"] in (True, False, None), (cls.id, told)


def _entries(nodes: dict) -> list[dict]:
    out = []
    for entry in nodes.values():
        out += [entry, *entry.get("items", []), *_entries(entry.get("children", {}))]
    return out


def test_a_plan_declares_change_none_unknown_or_fail_for_every_entry():
    nodes = plan_graph(Graph.model_validate(canary()), {"release": "r2"}, HOSTS, get_registry())["nodes"]
    assert nodes["sel"]["changes"] is False and nodes["split"]["changes"] is False
    assert nodes["head"]["items"][0]["changes"] is True  # web0 runs r1: switching to r2 changes it
    assert nodes["gate"] == {**nodes["gate"], "effect": "unknown effect", "changes": None}  # no plan()
    for entry in _entries(nodes):
        assert entry.get("fails") or "changes" in entry or "items" in entry, entry
    same = plan_graph(Graph.model_validate(canary()), {"release": "r1"}, HOSTS, get_registry())["nodes"]
    assert same["head"]["items"][0]["changes"] is False
    bad = plan_graph(Graph.model_validate(canary("role=db")), {"release": "r2"}, HOSTS, get_registry())["nodes"]
    assert bad["sel"]["fails"] is True and bad["sel"]["effect"].startswith("would fail: selector role=db matches no host")
    assert bad["head"]["changes"] is None
