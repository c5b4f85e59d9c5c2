"""The canary example's plan shows what the run deploys (issue 17, item 2): after an earlier
rollout to 5.0.0, a plan of 6.0.0 says 5.0.0 -> 6.0.0, that commit marks 6.0.0, which config
files change (with a diff) and what the rollback would bring back; planning 5.0.0 again says
nothing changes. The host is a real HostRuntime under supervisord (the example app on a free
port), planned by its agent's own code in this process."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nebhx import Context
from nebhx.bricks.inventory import HostInfo, StaticInventory
from nebhx.bricks.registry import get_registry
from nebhx.plans.dryrun import plan_graph
from nebhx.execution.plan_agent import LocalHosts
from nebhx.graph_model import Graph
from nebhx.runtime import HostRuntime
from support import free_port, stop_daemons

ROOT = Path(__file__).resolve().parents[2]
CANARY = json.loads((ROOT / "examples" / "canary-update.json").read_text())
HOSTS = StaticInventory([HostInfo(name="local", labels={"role": "web"})])


def profiles(greeting: str) -> dict:
    return {"web": {"values": {"greeting": greeting}, "templates": {"app.json": '{"greeting": {{ greeting | tojson }}}\n'}}}


@pytest.fixture
def host(tmp_path):
    """Host `local` after an earlier rollout: release 5.0.0 prepared, switched and committed."""
    rt = HostRuntime("local", tmp_path / "home" / "hosts" / "local")
    src = tmp_path / "app"
    shutil.copytree(ROOT / "examples" / "app", src, ignore=shutil.ignore_patterns("__pycache__"))
    port = free_port()
    inputs = {"selector": "role=web", "app_source": str(src), "port": port}
    reg = get_registry()
    ctx = Context(runtime=rt, host="local")
    switch = next(n for n in CANARY["nodes"] if n["id"] == "canary")["params"]
    reg.get("storage.volume")()(ctx, host="local", name="web-data")
    reg.get("rollout.prepare")()(ctx, host="local", service="web", source=str(src), release_id="5.0.0",
                                 profiles=profiles("hello from 5"), profile="web")
    reg.get("rollout.switch")()(ctx, host="local", service="web", command=switch["command"], port=port,
                                volume="web-data", ready_http="/health")
    reg.get("rollout.commit")()(ctx, host="local", service="web")
    yield rt, inputs
    stop_daemons(tmp_path / "home")


def plan(rt: HostRuntime, inputs: dict) -> dict:
    out = plan_graph(Graph.model_validate(CANARY), inputs, HOSTS, get_registry(),
                     hosts=LocalHosts({"local": rt}.get))
    return {nid: ({**n["items"][0], "when": n.get("when")} if n.get("items") else n)
            for nid, n in out["nodes"].items()}


def test_a_plan_after_an_earlier_rollout_shows_the_release_the_run_deploys(host):
    rt, inputs = host
    nodes = plan(rt, {**inputs, "release_id": "6.0.0", "profiles": profiles("hello from 6")})
    prepare, canary, commit = nodes["prepare"], nodes["canary"], nodes["commit"]
    assert prepare["effect"].startswith("stage release 6.0.0, render config") and prepare["changes"] is True
    changed = prepare["config"]["files"]
    assert [f["file"] for f in changed] == ["app.json"] and changed[0]["change"] == "modified"
    assert '-{"greeting": "hello from 5"}' in changed[0]["diff"]  # rendered without secrets: shown
    assert '+{"greeting": "hello from 6"}' in changed[0]["diff"]
    assert canary["release"] == {"before": "5.0.0", "after": "6.0.0"}, canary
    assert "release 5.0.0 -> 6.0.0" in canary["effect"] and canary["restart"] is True
    assert canary["config"]["files"] == ["app.json"] and canary["config"]["after"] == prepare["outputs"]["config_version"]
    assert canary["snapshot"] == {"volume": "web-data"} and canary["balancer"] is None  # lb_name empty
    assert canary["actions"] == ["snapshot", "switch", "restart", "ready", "checks"]
    assert commit["effect"] == "mark 6.0.0 committed" and commit["outputs"]["release_id"] == "6.0.0"
    assert "back from release 6.0.0 to 5.0.0" in nodes["rollback"]["effect"]
    assert nodes["rollback"]["when"] == "only if an upstream node fails"
    assert nodes["select"]["effect"] == "would pick 1 host now: local"
    assert not rt.releases.path("web", "6.0.0").exists()  # the plan touched nothing


def test_planning_what_runs_already_says_nothing_changes(host):
    rt, inputs = host
    nodes = plan(rt, {**inputs, "release_id": "5.0.0", "profiles": profiles("hello from 5")})
    assert nodes["prepare"]["effect"] == "nothing: already prepared" and nodes["prepare"]["changes"] is False
    assert nodes["canary"]["changes"] is False and nodes["canary"]["effect"].startswith(
        "nothing: web already runs release 5.0.0")
    assert nodes["commit"]["effect"] == "nothing: 5.0.0 is already committed"
    assert nodes["rollback"]["effect"] == "nothing: this run does not switch web on local, so it is left alone"
