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
    down = wait_for(lambda: next((r for r in services(s) if r["service"] == "web" and not r["last_probe"]["ok"]),
                                 None), 30, what="stopped service seen")
    assert down["state"] in ("STOPPED", "EXITED") and down["last_probe"]["error"]
