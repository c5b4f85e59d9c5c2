"""Day-two commands as an operator types them against a real server: diff, gc, delete."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support import ROOT, Stack, graph, make_env, wire


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """An API process alone (no worker): these commands only read and change the store."""
    home = tmp_path_factory.mktemp("daytwo-cli")
    stack = Stack(home, make_env(home)).start(worker=False)
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
