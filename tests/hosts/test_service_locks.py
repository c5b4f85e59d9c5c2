"""Service locks: two runs that would restart the same service on the same host do not
interleave; the second waits (saying for whom) or is refused, as its node says; a lock of a
run that ended is released (taken over at once, and deleted by the sweep)."""
from __future__ import annotations

import sys

import pytest

from support import ROOT, Stack, free_port, graph, make_env, order, wait_for

APP = ROOT / "examples" / "app" / "webapp.py"


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path, make_env(tmp_path)).start()
    yield s
    s.run(graph("stop-all", [("stop", "service.stop", {"host": "local", "service": "lockweb", "remove": True})]))
    s.stop()


def web(port: int, **extra) -> tuple:
    return ("web", "service.run", {"host": "local", "service": "lockweb", "port": port, "ready_http": "/health",
                                   "command": f"{sys.executable} {APP} --port {{port}}", **extra})


def locks(s: Stack) -> list[dict]:
    with s.client() as c:
        return c.get("/locks").json()


def test_second_run_waits_for_the_first_then_is_refused_or_runs(stack):
    s, port = stack, free_port()
    # Run A restarts the service, then waits at a gate: it keeps the lock until it ends.
    first = s.run(graph("deploy-a", [web(port), ("gate", "gate.approval", {"message": "hold"})], [order("web", "gate")]),
                  wait=False)
    s.wait_node(first["id"], "gate", "waiting")
    [held] = locks(s)
    assert held == {**held, "host": "local", "service": "lockweb", "instance": "", "run_id": first["id"],
                    "node_id": "web"}

    # Run B would restart the same service: it waits, and says for whom.
    second = s.run(graph("deploy-b", [web(port, env={"V": "2"})]), wait=False)
    waiting = wait_for(lambda: (n := s.get_run(second["id"])["nodes"].get("web")) and (n.get("wait") or {}).get("reason")
                       and n, 30, what="B waiting for the lock")
    assert waiting["status"] == "running"
    assert f"waiting for lock held by run {first['id']}" in waiting["wait"]["reason"]
    assert waiting["wait"]["lock"]["node_id"] == "web"

    # Run C asks to be refused instead: it fails at once, naming the holder.
    third = s.run(graph("deploy-c", [web(port, on_lock="refuse")]), timeout=30)
    assert third["status"] == "failed"
    assert f"locked by run {first['id']}" in third["nodes"]["web"]["error"]
    assert s.get_run(second["id"])["nodes"]["web"]["status"] == "running"  # B still waits: no interleaving

    with s.client() as c:  # A ends (cancelled): its lock holds nothing any more
        assert c.post(f"/runs/{first['id']}/cancel").status_code == 200
    done = s.wait_run(second["id"], 60)
    assert done["status"] == "succeeded", done["nodes"]["web"]["error"]
    assert not (done["nodes"]["web"].get("wait") or {}).get("reason")
    # B ended too: the sweep deletes the rows of ended runs.
    wait_for(lambda: locks(s) == [], 20, what="the sweep released the ended runs' locks")


def test_a_run_retakes_its_own_lock(stack):
    s, port = stack, free_port()
    run = s.run(graph("twice", [web(port), ("again", "service.run", {
        "host": "local", "service": "lockweb", "port": port, "ready_http": "/health",
        "command": f"{sys.executable} {APP} --port {{port}}"})], [order("web", "again")]), timeout=60)
    assert run["status"] == "succeeded", {k: n["error"] for k, n in run["nodes"].items()}
