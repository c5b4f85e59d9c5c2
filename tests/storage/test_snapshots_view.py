"""End to end on a real API and agent: the agent reports its volumes and snapshots with its
heartbeat; a delete from the API runs on the agent and the view follows; the report is
made again only when something changed (or a minute passed)."""
from __future__ import annotations

import subprocess
import sys

import pytest
from volume_support import unmount_under

from support import Stack, graph, make_env, wait_for

from nebhx.runtime import HostRuntime
from nebhx.runtime.storage.report import VolumeReport


@pytest.fixture(scope="module")
def quick_stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("snapview")
    env = make_env(home, NEBHX_AGENT_HEARTBEAT_S="0.3", NEBHX_SERVICES_CHECK_S="0.3")
    s = Stack(home, env).start()
    yield s
    s.stop()
    unmount_under(home)


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nebhx.cli.main", *args], capture_output=True, text=True,
                          env={**stack.env, "NEBHX_URL": stack.url, "COLUMNS": "200"}, timeout=120)


def volumes(stack: Stack, **params) -> list[dict]:
    with stack.client() as c:
        return c.get("/volumes", params=params).json()


def test_snapshots_listed_with_release_then_deleted_from_the_api(quick_stack):
    s = quick_stack
    run = s.run(graph("snap", [
        ("vol", "storage.volume", {"host": "local", "name": "bank", "driver": "overlay", "keep_snapshots": 5}),
        ("s1", "storage.snapshot", {"host": "local", "name": "before-2.0", "release": "1.0.0"}),
        ("s2", "storage.snapshot", {"host": "local", "name": "after-2.0", "release": "2.0.0"})],
        [{"from": {"node": "vol", "port": "volume_url"}, "to": {"node": "s1", "port": "volume_url"}},
         {"from": {"node": "s1"}, "to": {"node": "s2"}},
         {"from": {"node": "vol", "port": "volume_url"}, "to": {"node": "s2", "port": "volume_url"}}]))
    assert run["status"] == "succeeded", {n: v["error"] for n, v in run["nodes"].items()}
    url = run["nodes"]["vol"]["outputs"]["volume_url"]
    row = wait_for(lambda: next((r for r in volumes(s, host="local") if r["url"] == url and len(r["snapshots"]) == 2),
                                None), 30, what="the agent's report of both snapshots")
    assert row["driver"] == "overlay" and row["retention"]["keep_last"] == 5 and row["used"] is not None
    assert [(x["id"], x["release"]) for x in row["snapshots"]] == [("before-2.0", "1.0.0"), ("after-2.0", "2.0.0")]

    with s.client() as c:
        resp = c.post("/volumes/snapshots/delete", json={"host": "local", "volume_url": url, "snapshot": "before-2.0"})
    assert resp.status_code == 201, resp.text
    done = s.wait_run(resp.json()["id"])
    assert done["status"] == "succeeded" and done["outputs"]["deleted"] == "before-2.0"
    wait_for(lambda: [x["id"] for r in volumes(s, volume=url) for x in r["snapshots"]] == ["after-2.0"],
             30, what="the view without the deleted snapshot")

    shown = cli(s, "volumes", "--host", "local")
    assert shown.returncode == 0 and "bank" in shown.stdout and "release 2.0.0" in shown.stdout, shown.stdout
    pruned = cli(s, "volumes", "prune", "--host", "local", url, "--keep-last", "0", "--json")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert '"after-2.0"' in pruned.stdout  # the run's output: what it pruned
    wait_for(lambda: [x for r in volumes(s, volume=url) for x in r["snapshots"]] == [], 30, what="pruned")


def test_the_report_is_made_again_only_after_a_change(tmp_path, monkeypatch):
    monkeypatch.setenv("NEBHX_HOST_HOME", str(tmp_path / "h"))
    report = VolumeReport("h1", every_s=3600)
    assert report.due() == [] and report.due() is None  # the first beat reports, then nothing changed
    vols = HostRuntime.for_host("h1").volumes
    vols.create("pg")
    first = report.due()
    assert [r["name"] for r in first] == ["pg"] and report.due() is None
    vols.snapshot(first[0]["url"], "s1")
    assert [x["id"] for x in report.due()[0]["snapshots"]] == ["s1"] and report.due() is None
