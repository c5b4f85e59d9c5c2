"""Agents register and heartbeat; a node routed to a host that went down fails naming it."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support import ROOT, Stack, graph, make_env, wait_for


@pytest.fixture
def quick_stack(tmp_path):
    env = make_env(tmp_path, NEBHX_AGENT_HEARTBEAT_S="0.5", NEBHX_HOST_DOWN_S="2", NEBHX_HOST_WAIT_S="3")
    s = Stack(tmp_path, env).start()
    yield s
    s.stop()


def hosts(stack):
    with stack.client() as c:
        return {h["name"]: h for h in c.get("/hosts").json()}


def test_agent_registers_goes_down_and_its_nodes_fail(quick_stack):
    s = quick_stack
    s.spawn("agent-h9", "agent", "--host", "h9", "--label", "role=db", "--label", "zone=a")
    h9 = wait_for(lambda: hosts(s).get("h9"), 30, what="h9 registered")
    assert h9["state"] == "up" and h9["labels"] == {"role": "db", "zone": "a"} and h9["version"]
    assert hosts(s)["local"]["state"] == "up"
    ok = s.run(graph("on-h9", [("w", "test.where", {"host": "h9", "tag": "x"})]))
    assert ok["status"] == "succeeded" and ok["nodes"]["w"]["outputs"]["host"] == "h9"
    assert ok["nodes"]["w"]["host"] == "h9"
    s.kill("agent-h9")
    wait_for(lambda: hosts(s)["h9"]["state"] == "down", 15, what="h9 down")
    res = subprocess.run([sys.executable, "-m", "nebhx.cli.main", "hosts", "--json"], capture_output=True,
                         text=True, env={**s.env, "NEBHX_URL": s.url}, cwd=ROOT, timeout=60)
    assert {h["name"]: h["state"] for h in json.loads(res.stdout)} == {"h9": "down", "local": "up"}
    failed = s.run(graph("on-h9-down", [("w", "test.where", {"host": "h9"})]), timeout=60)
    assert failed["status"] == "failed"
    assert failed["nodes"]["w"]["error"].startswith("host 'h9' is down (no heartbeat since")


def test_unknown_host_fails_at_once(quick_stack):
    run = quick_stack.run(graph("on-nowhere", [("w", "test.where", {"host": "atlantis"})]))
    assert run["nodes"]["w"]["error"] == "unknown host 'atlantis': no agent has registered it (nebhx agent --host atlantis)"
