"""Plan (dry run): the plan API and `nebhx plan` tell per node and per host what a run would do,
for a viewer, over 100 hosts whose agents answer for their own state, and change nothing."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from plan_agents import SimulatedAgents
from support import TEST_BLOCKS, fresh_palette, graph, order, wire

from nebhx.store.models import HostRow, RunRow, utcnow

N = 100


def add_hosts(db_url: str, n: int = N) -> None:
    """100 web hosts in zones a and b, as agents would have registered them; web000 runs r1."""
    from nebhx.store.db import session_scope
    with session_scope(db_url) as s:
        for i in range(n):
            services = [{"service": "app", "release": "r1"}] if i == 0 else []
            s.merge(HostRow(name=f"web{i:03d}", labels={"role": "web", "zone": "ab"[i % 2]},
                            last_seen=utcnow(), services=services))
        s.merge(HostRow(name="db1", labels={"role": "db"}, last_seen=utcnow()))


def canary(selector: str = "role=web") -> dict:
    """select -> split 10% -> switch the head -> gate -> switch the rest, 25% at a time."""
    switch = {"service": "app", "release": {"$input": "release"}}
    return graph("canary", [
        ("sel", "hosts.select", {"selector": selector}),
        ("split", "hosts.split", {"first": "10%"}),
        ("head", "release.switch", switch, {"for_each": "host"}),
        ("gate", "gate.approval", {}),
        ("rest", "release.switch", switch, {"for_each": "host", "batch": "25%", "pause_s": 30}),
    ], [wire("sel", "hosts", "split", "items"), wire("split", "head", "head", "host"),
        wire("split", "rest", "rest", "host"), order("head", "gate"), order("gate", "rest")],
        inputs=[{"name": "release", "type": "string"}])


@pytest.fixture
def viewer_api(db_url, monkeypatch, tmp_path):
    """The API in-process, sign-in required, and a viewer's token."""
    from nebhx.api.app import create_app
    from nebhx.auth import service
    from nebhx.settings import reset_settings
    from nebhx.store.db import session_scope
    for key, value in {"NEBHX_HOME": str(tmp_path), "NEBHX_DATABASE_URL": db_url,
                       "NEBHX_BLOCKS_PATH": str(TEST_BLOCKS), "NEBHX_AUTH": "required"}.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    fresh_palette()
    client = TestClient(create_app(), base_url="http://127.0.0.1:8750", raise_server_exceptions=False)
    with client, session_scope() as s:
        service.create_user(s, name="vera", password="correct horse", role="viewer")
        client.headers["Authorization"] = "Bearer " + service.create_token(s, owner="vera", name="t").token
    add_hosts(db_url)
    agents = SimulatedAgents(db_url, [f"web{i:03d}" for i in range(N)], tmp_path / "hosts")
    web000 = agents.runtime("web000")  # runs r1, and r2 is staged: the only host a switch to r2 can change
    for rid in ("r1", "r2"):
        (tmp_path / rid).mkdir()
        (tmp_path / rid / "app.py").write_text(f"print({rid!r})\n")
        web000.releases.stage("app", str(tmp_path / rid), release_id=rid)
    web000.releases.switch("app", "r1")
    with client, agents:
        yield client, db_url
    reset_settings()


def test_a_viewer_plans_a_canary_over_100_hosts_host_by_host(viewer_api):
    api, db_url = viewer_api
    resp = api.post("/api/graphs/plan", json={"graph": canary(), "inputs": {"release": "r2"}})
    assert resp.status_code == 200, resp.text
    plan = resp.json()
    nodes = plan["nodes"]
    assert list(nodes) == ["sel", "split", "head", "gate", "rest"]
    assert nodes["sel"]["outputs"]["count"] == N and nodes["sel"]["effect"].startswith("would pick 100 hosts now")
    assert nodes["split"]["effect"] == "head: 10 items, rest: 90 items"
    head = nodes["head"]["items"]
    assert [i["host"] for i in head] == [f"web{i:03d}" for i in range(10)]
    # Each host's own agent told its state: web000 runs r1 and has r2; the others have no r2.
    assert head[0]["effect"] == "switch app from r1 to r2" and head[0]["changes"] is True
    assert head[0]["release"] == {"before": "r1", "after": "r2"} and head[0]["outputs"]["previous"] == "r1"
    assert head[1]["effect"].startswith("would fail: release 'r2' of 'app' is not staged on host web001")
    assert nodes["gate"]["effect"] == "unknown effect"
    rest = nodes["rest"]
    assert rest["effect"] == "90 items, in 4 batches of 23, in item order, pausing 30s between batches"
    assert [i["batch"] for i in rest["items"]][::23] == [1, 2, 3, 4] and rest["items"][-1]["batch"] == 4
    from nebhx.store.db import session_scope
    with session_scope(db_url) as s:
        assert s.query(RunRow).count() == 0  # nothing ran, nothing was stored


def test_unknown_values_are_placeholders_and_failures_are_told(viewer_api):
    api, _ = viewer_api
    plan = api.post("/api/graphs/plan", json={"graph": canary()}).json()
    first = plan["nodes"]["head"]["items"][0]
    assert first["inputs"]["release"] == "(input release)"
    assert first["effect"] == "switch app once its inputs are known" and first["changes"] is None
    empty = api.post("/api/graphs/plan", json={"graph": canary("role=web,zone=c")}).json()["nodes"]
    assert empty["sel"]["effect"].startswith("would fail: selector role=web,zone=c matches no host that is up")
    assert empty["head"]["effect"] == "runs once per item of (from split.head), not known before the run"


def test_a_bad_graph_or_input_is_refused_before_planning(viewer_api):
    api, _ = viewer_api
    bad = canary()
    bad["nodes"][4]["batch"] = "150%"
    resp = api.post("/api/graphs/plan", json={"graph": bad})
    assert resp.status_code == 422 and "not '150%'" in resp.text
    resp = api.post("/api/graphs/plan", json={"graph": canary(), "inputs": {"nope": 1}})
    assert resp.status_code == 422 and "declares no input 'nope'" in resp.text


def test_nebhx_plan_prints_each_host_and_its_batch(stack, tmp_path):
    add_hosts(stack.env.get("NEBHX_DATABASE_URL") or f"sqlite:///{stack.home / 'nebhx.db'}")
    path = tmp_path / "canary.json"
    path.write_text(json.dumps(canary()))
    env = {**stack.env, "NEBHX_URL": stack.url, "COLUMNS": "200"}
    cli = [sys.executable, "-m", "nebhx.cli.main", "plan", str(path), "-i", "release=r2"]
    out = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    # These hosts are registered rows only: no agent runs for them, and the plan says so at once.
    assert "cannot tell: no agent of host web000 is running" in out.stdout
    assert "rest[89]" in out.stdout and "batch 4 @ web099" in out.stdout
    as_json = json.loads(subprocess.run(cli + ["--json"], env=env, capture_output=True, text=True,
                                        timeout=60).stdout)
    assert len(as_json["nodes"]["rest"]["items"]) == 90
    with stack.client() as c:
        assert not [r for r in c.get("/runs").json() if r["graph_name"] == "canary"]


def test_a_run_records_the_hosts_it_selected_and_an_empty_selection_fails(stack):
    from nebhx.store.db import session_scope
    db_url = stack.env.get("NEBHX_DATABASE_URL") or f"sqlite:///{stack.home / 'nebhx.db'}"
    with session_scope(db_url) as s:
        s.get(HostRow, "local").labels = {"role": "edge", "zone": "z1"}
    doc = graph("edge", [("sel", "hosts.select", {"selector": "role=edge,zone in (z1,z2)"}),
                         ("split", "hosts.split", {"first": "50%"}),
                         ("where", "test.where", {}, {"for_each": "host"})],
                [wire("sel", "hosts", "split", "items"), wire("split", "head", "where", "host")])
    run = stack.run(doc)
    assert run["status"] == "succeeded", run
    sel = run["nodes"]["sel"]["outputs"]
    assert (sel["hosts"], sel["count"], len(sel["addresses"])) == (["local"], 1, 1)
    assert run["nodes"]["where"]["outputs"]["host"] == ["local"]
    doc["nodes"][0]["params"]["selector"] = "role=edge,zone=z9"
    failed = stack.run(doc)
    assert failed["nodes"]["sel"]["status"] == "failed"
    assert failed["nodes"]["sel"]["error"].startswith(
        "selector role=edge,zone=z9 matches no host that is up; hosts known: ")
    assert "local (role=edge, zone=z1; up)" in failed["nodes"]["sel"]["error"]
    assert failed["nodes"]["where"]["status"] == "skipped"
