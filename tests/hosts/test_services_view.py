"""The services view: what runs where, which release and config, alive right now or not."""
from __future__ import annotations

import os
import signal
import sys

import pytest

from support import ROOT, Stack, free_port, graph, make_env, wait_for


@pytest.fixture
def watched_stack(tmp_path):
    env = make_env(tmp_path, NEBHX_AGENT_HEARTBEAT_S="0.5", NEBHX_SERVICES_CHECK_S="0.5")
    s = Stack(tmp_path, env).start()
    yield s
    s.run(graph("stop-all", [("stop", "service.stop", {"host": "local", "service": "web", "remove": True})]))
    s.stop()


def services(stack):
    with stack.client() as c:
        return c.get("/services").json()


def test_services_view_follows_the_process(watched_stack):
    s, port = watched_stack, free_port()
    app = ROOT / "examples" / "app" / "webapp.py"
    run = s.run(graph("web", [("web", "service.run", {
        "host": "local", "service": "web", "port": port, "ready_http": "/health",
        "command": f"{sys.executable} {app} --port {{port}}"})]))
    assert run["status"] == "succeeded", run["nodes"]["web"]["error"]
    pid = run["nodes"]["web"]["outputs"]["pid"]
    row = wait_for(lambda: next((r for r in services(s) if r["service"] == "web" and r["pid"] == pid
                                 and r["state"] == "RUNNING" and r["last_probe"]["ok"]), None), 30, what="service seen")
    assert row["host"] == "local" and row["host_state"] == "up" and row["state"] == "RUNNING"
    assert row["address"].endswith(f":{port}")
    os.kill(pid, signal.SIGKILL)
    again = wait_for(lambda: next((r for r in services(s) if r["service"] == "web" and r["pid"] not in (pid, None)
                                   and r["state"] == "RUNNING" and r["last_probe"]["ok"]), None), 30,
                   what="restarted service seen")
    assert again["state"] == "RUNNING"
    s.run(graph("stop", [("stop", "service.stop", {"host": "local", "service": "web"})]))
    # (a look taken while supervisord stopped it truthfully says STOPPING: wait for the end)
    down = wait_for(lambda: next((r for r in services(s) if r["service"] == "web" and not r["last_probe"]["ok"]
                                  and r["state"] in ("STOPPED", "EXITED")), None), 30, what="stopped service seen")
    assert down["last_probe"]["error"] and down["pid"] is None


def _web(name: str, instance: str, release: str, port: int) -> dict:
    """A graph of its own running instance ``instance`` of service web on release ``release``."""
    app = ROOT / "examples" / "app"
    return graph(name, [
        ("stage", "release.stage", {"host": "local", "service": "web", "source": str(app), "release_id": release}),
        ("run", "service.run", {"host": "local", "service": "web", "instance": instance, "port": port,
                                "ready_http": "/health", "command": "python3 {release}/webapp.py --port {port}"})],
        [{"from": {"node": "stage", "port": "path"}, "to": {"node": "run", "port": "release_path"}}])


def test_views_follow_a_run_at_once_and_each_instance_shows_its_own_releases(tmp_path):
    """Issue 17, item 8: the services and releases views lagged up to 10 s (the agent looked at
    its services every 10 s) and showed stale rows as fresh; two graphs running instances of
    service `web` saw each other's releases. Here the agent's own looks are 60 s apart: what
    the views show within seconds of a run comes from the report after each node."""
    env = make_env(tmp_path, NEBHX_AGENT_HEARTBEAT_S="60", NEBHX_SERVICES_CHECK_S="60", NEBHX_HOST_DOWN_S="300")
    s = Stack(tmp_path, env).start()
    try:
        seen = {}
        for name, instance, release in (("graph-a", "a", "a1"), ("graph-b", "b", "b1")):
            run = s.run(_web(name, instance, release, free_port()))
            assert run["status"] == "succeeded", run["nodes"]["run"]["error"]
            pid = run["nodes"]["run"]["outputs"]["pid"]
            seen[instance] = wait_for(lambda: next((r for r in services(s) if r.get("instance") == instance
                                                    and r["pid"] == pid and r["state"] == "RUNNING"), None),
                                      10, what=f"instance {instance} in the services view")  # looks: 60 s
            assert seen[instance]["seen_at"] >= run["finished_at"][:19]  # when it was looked at
        with s.client() as c:
            rows = {r["instance"]: r for r in c.get("/releases", params={"service": "web"}).json()}
        assert [r["id"] for r in rows["a"]["releases"]] == ["a1"] and rows["a"]["active"] == "a1"
        assert [r["id"] for r in rows["b"]["releases"]] == ["b1"] and rows["b"]["active"] == "b1"
        assert rows["a"]["previous"] is None and rows["b"]["previous"] is None
    finally:
        s.run(graph("stop-all", [(f"stop_{i}", "service.stop", {"host": "local", "service": "web",
                                                                  "instance": i, "remove": True}) for i in "ab"]))
        s.stop()
