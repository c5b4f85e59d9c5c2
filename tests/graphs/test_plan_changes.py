"""Every plan entry says outright whether a run would change something (`changes`: true, false,
or None when it cannot tell) or fail (`fails`): the editor's badges read these, not the words."""
from __future__ import annotations

from pathlib import Path

import pytest

from nebhx import Context
from nebhx.bricks.base import Unknown
from nebhx.bricks.inventory import HostInfo, StaticInventory
from nebhx.bricks.registry import get_registry, load_registry
from nebhx.plans.dryrun import plan_graph
from nebhx.execution.plan_agent import LocalHosts
from nebhx.graph_model import Graph
from nebhx.runtime import HostRuntime
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


@pytest.fixture
def agents(tmp_path):
    """Each host's runtime under tmp_path, planned in this process: web0 runs r1 and has r2."""
    runtimes = {f"web{i}": HostRuntime(f"web{i}", tmp_path / f"web{i}") for i in range(4)}
    for rid in ("r1", "r2"):
        (tmp_path / rid).mkdir()
        (tmp_path / rid / "app.py").write_text(f"print({rid!r})\n")
        runtimes["web0"].releases.stage("app", str(tmp_path / rid), release_id=rid)
    runtimes["web0"].releases.switch("app", "r1")
    return LocalHosts(runtimes.get)


def test_a_plan_declares_change_none_unknown_or_fail_for_every_entry(agents):
    def plan(doc: dict, release: str) -> dict:
        return plan_graph(Graph.model_validate(doc), {"release": release}, HOSTS, get_registry(), hosts=agents)["nodes"]
    nodes = plan(canary(), "r2")
    assert nodes["sel"]["changes"] is False and nodes["split"]["changes"] is False
    assert nodes["head"]["items"][0]["changes"] is True  # web0 runs r1: switching to r2 changes it
    assert nodes["gate"] == {**nodes["gate"], "effect": "unknown effect", "changes": None}  # no plan()
    for entry in _entries(nodes):
        assert entry.get("fails") or "changes" in entry or "items" in entry, entry
    same = plan(canary(), "r1")
    assert same["head"]["items"][0]["changes"] is False
    bad = plan(canary("role=db"), "r2")
    assert bad["sel"]["fails"] is True and bad["sel"]["effect"].startswith("would fail: selector role=db matches no host")
    assert bad["head"]["changes"] is None
