"""Day-two commands as an operator types them against a real server: diff, gc, delete."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support import ROOT, Stack, graph, make_env, order, wire


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """An API and a worker over SQLite (the sweep's own collection is tested apart)."""
    home = tmp_path_factory.mktemp("daytwo-cli")
    stack = Stack(home, make_env(home)).start()
    yield stack
    stack.stop()


def nebhx(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nebhx.cli.main", *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env={**server.env, "NEBHX_URL": server.url, "COLUMNS": "200"})


def _save(server, doc: dict, graph_id: str | None = None) -> dict:
    with server.client() as c:
        resp = c.put(f"/graphs/{graph_id}", json=doc) if graph_id else c.post("/graphs", json=doc)
        assert resp.status_code in (200, 201), resp.text
        return resp.json()


def test_diff_prints_what_changed_between_revisions(server, tmp_path):
    v1 = graph("cli-diff", [("a", "test.echo", {"text": "one"}), ("b", "test.echo")], [wire("a", "text", "b", "text")])
    gid = _save(server, v1)["id"]
    v2 = graph("cli-diff", [("a", "test.echo", {"text": "two"}, {"retries": 2}), ("c", "test.echo", {"text": "c"})])
    _save(server, v2, gid)
    _save(server, {**v2, "description": "no change a run sees"}, gid)
    res = nebhx(server, "diff", gid, "1", "2")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == f"{gid}: revision 1 -> 2"
    assert "+ node c (test.echo)" in lines and "- node b (test.echo)" in lines
    assert "~ node a (test.echo)" in lines
    assert '    params.text: "one" -> "two"' in lines and "    retries: 0 -> 2" in lines
    assert "- wire a.text -> b.text" in lines
    # One revision: against the latest; none: the latest against the one before.
    assert nebhx(server, "diff", gid, "1").stdout.splitlines()[0] == f"{gid}: revision 1 -> 3"
    latest = nebhx(server, "diff", gid)
    assert latest.stdout.splitlines() == [f"{gid}: revision 2 -> 3", "no change"]
    as_json = json.loads(nebhx(server, "diff", gid, "1", "2", "--json").stdout)
    assert [n["id"] for n in as_json["nodes"]["added"]] == ["c"]
    missing = nebhx(server, "diff", gid, "1", "9")
    assert missing.returncode == 1 and "has no revision 9" in missing.stderr and "Traceback" not in missing.stderr


def test_gc_keeps_the_running_run_and_the_last_ones_and_deletes_the_rest_with_their_logs(server):
    doc = graph("cli-gc", [("gate", "gate.approval", {"message": "hold"}), ("after", "test.echo", {"text": "done"})],
                [order("gate", "after")])
    gid = _save(server, doc)["id"]
    with server.client() as c:
        runs = [c.post("/runs", json={"graph_id": gid}).json()["id"] for _ in range(4)]
        for run_id in runs:
            server.wait_node(run_id, "gate", "waiting")
        for run_id in runs[1:]:  # the oldest stays waiting: a running run
            assert c.post(f"/runs/{run_id}/nodes/gate/approve", json={}).status_code == 200
            server.wait_run(run_id)
        assert c.get(f"/runs/{runs[1]}/nodes/after/log").status_code == 200
    kept = nebhx(server, "retention", gid, "--keep-runs", "1")
    assert kept.returncode == 0 and kept.stdout.strip() == f"{gid}: keep_runs 1", kept.stdout + kept.stderr
    planned = json.loads(nebhx(server, "gc", "--graph", gid, "--dry-run", "--json").stdout)
    assert planned == {"dry_run": True, "deleted": 2, "graphs": {gid: runs[1:3]}}
    res = nebhx(server, "gc", "--graph", gid)
    assert res.returncode == 0 and res.stdout.splitlines()[-1] == "deleted 2 runs", res.stdout + res.stderr
    with server.client() as c:
        left = {r["id"] for r in c.get("/runs", params={"graph_id": gid}).json()}
        assert left == {runs[0], runs[3]}  # the running one, and the newest
        for gone in runs[1:3]:
            assert c.get(f"/runs/{gone}").status_code == 404
            assert c.get(f"/runs/{gone}/nodes/after/log").status_code == 404
            assert c.get(f"/runs/{gone}/events", params={"after": 0}).status_code == 404
        audit = c.get("/audit", params={"action": "runs.gc"}).json()
        assert [a["data"]["status"] for a in audit][:2] == [200, 200]
        assert c.post(f"/runs/{runs[0]}/cancel").status_code == 200
    # Once cancelled, the oldest run is no longer kept by running: the graph keeps its last one.
    assert json.loads(nebhx(server, "gc", "--json").stdout)["graphs"] == {gid: [runs[0]]}


def test_delete_commands_refuse_what_is_in_use_and_say_why(server):
    assert nebhx(server, "secret", "cli-pw", "--value", "pw-1").returncode == 0
    doc = graph("cli-del", [{"id": "share", "brick": "core.share_settings", "params": {
        "address": "10.0.0.5", "share": "d", "login": "app", "password": {"$secret": "cli-pw"}}}])
    gid = _save(server, doc)["id"]
    refused = nebhx(server, "delete", "secret", "cli-pw")
    assert refused.returncode == 1 and f"in use by graph {gid} node share" in refused.stderr
    done = nebhx(server, "delete", "graph", gid)
    assert done.returncode == 0 and f"deleted graph {gid} (cli-del): 1 revisions, 0 runs" in done.stdout
    assert nebhx(server, "delete", "secret", "cli-pw").returncode == 0
    missing = nebhx(server, "hosts", "delete", "nobody")
    assert missing.returncode == 1 and "no host 'nobody'" in missing.stderr
