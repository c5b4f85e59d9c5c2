"""Auth on a real stack (API + worker processes, NEBHX_AUTH=required): approvals, the CLI's sign-in."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from contextlib import contextmanager

import httpx
import pytest

from support import ROOT, Stack, graph, make_env, order, wait_for


@pytest.fixture(scope="module")
def secured_stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("auth-stack")
    stack = Stack(home, make_env(home, NEBHX_AUTH="required")).start()
    yield stack
    stack.stop()


@contextmanager
def store_of(stack):
    """This process pointed at the stack's store, as `nebhx user add` on its control plane would be."""
    from nebhx.settings import reset_settings
    with pytest.MonkeyPatch.context() as mp:
        for key in ("NEBHX_HOME", "NEBHX_DATABASE_URL"):
            mp.delenv(key, raising=False)
            if key in stack.env:
                mp.setenv(key, stack.env[key])
        reset_settings()
        try:
            from nebhx.store.db import session_scope
            with session_scope() as s:
                yield s
        finally:
            reset_settings()


@pytest.fixture(scope="module")
def people(secured_stack):
    from nebhx.auth import service
    with store_of(secured_stack) as s:
        tokens = {}
        for name, role in (("ada", "admin"), ("olga", "operator"), ("ann", "operator"), ("bob", "operator"),
                           ("cy", "operator")):
            service.create_user(s, name=name, password="correct horse", role=role)
            tokens[name] = service.create_token(s, owner=name, name="test").token
    return tokens


def api(stack, token: str) -> httpx.Client:
    return httpx.Client(base_url=stack.url + "/api", timeout=30, headers={"Authorization": f"Bearer {token}"})


def nebhx(stack, *args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nebhx.cli.main", *args], capture_output=True, text=True,
                          input=input, timeout=60, cwd=ROOT, env={**stack.env, "NEBHX_URL": stack.url, **env})


def start_gate(stack, people, name: str, starter: str = "ada", **policy) -> str:
    """A run of a gate (with ``policy``) started by ``starter``; returns once the gate waits."""
    doc = graph(name, [("gate", "gate.approval", {"message": "ship it?", **policy}),
                       ("after", "test.echo", {"text": "shipped"})], [order("gate", "after")])
    with api(stack, people["ada"]) as admin:
        gid = admin.post("/graphs", json=doc).json()["id"]
    with api(stack, people[starter]) as starting:
        resp = starting.post("/runs", json={"graph_id": gid})
        assert resp.status_code == 201, resp.text
        run_id = resp.json()["id"]
    with api(stack, people["olga"]) as olga:
        wait_for(lambda: olga.get(f"/runs/{run_id}").json()["nodes"]["gate"]["status"] == "waiting", 30,
                 what="gate waiting")
    return run_id


def test_the_approver_is_the_signed_in_operator_not_the_name_in_the_body(secured_stack, people):
    run_id = start_gate(secured_stack, people, "approved-by-olga")
    with api(secured_stack, people["olga"]) as olga:
        resp = olga.post(f"/runs/{run_id}/nodes/gate/approve", json={"by": "mallory", "comment": "canary ok"})
        assert resp.status_code == 200, resp.text
        done = wait_for(lambda: (r := olga.get(f"/runs/{run_id}").json())["finished_at"] and r, 30, what="run done")
    gate = done["nodes"]["gate"]
    assert done["status"] == "succeeded"
    assert gate["outputs"]["by"] == "olga" and gate["wait"]["decision"]["by"] == "olga"
    from sqlalchemy import select

    from nebhx.store.models import EventRow
    with store_of(secured_stack) as s:
        events = [e.data for e in s.scalars(select(EventRow).where(
            EventRow.run_id == run_id, EventRow.node_id == "gate", EventRow.status == "succeeded"))]
    assert events and all(e["by"] == "olga" for e in events)
    with api(secured_stack, people["ada"]) as admin:
        rows = admin.get("/audit", params={"action": "runs.approve"}).json()
    row = next(r for r in rows if r["target"] == f"/api/runs/{run_id}/nodes/gate/approve")
    assert row["actor"] == "olga" and row["data"] == {"status": 200, "comment": "canary ok"}
    assert "mallory" not in json.dumps(done) + json.dumps(rows) + json.dumps(events)


def test_cli_signs_in_rejects_as_its_user_and_signs_out(secured_stack, people, tmp_path):
    run_id = start_gate(secured_stack, people, "rejected-by-olga")
    cfg = {"XDG_CONFIG_HOME": str(tmp_path)}
    refused = nebhx(secured_stack, "runs", **cfg)
    assert refused.returncode == 1 and "nebhx login" in refused.stderr
    login = nebhx(secured_stack, "login", "--user", "olga", "--password-stdin", input="correct horse\n", **cfg)
    assert login.returncode == 0, login.stderr
    creds = tmp_path / "nebhx" / "credentials.json"
    assert stat.S_IMODE(os.stat(creds).st_mode) == 0o600
    assert json.loads(creds.read_text())[secured_stack.url]["user"] == "olga"
    rejected = nebhx(secured_stack, "reject", run_id, "gate", "--comment", "5xx up", **cfg)
    assert rejected.returncode == 0, rejected.stderr
    assert "rejected by olga" in rejected.stdout
    with api(secured_stack, people["olga"]) as olga:
        assert olga.get(f"/runs/{run_id}").json()["nodes"]["gate"]["error"] == "rejected by olga: 5xx up"
    assert nebhx(secured_stack, "logout", **cfg).returncode == 0
    assert secured_stack.url not in json.loads(creds.read_text())
    after = nebhx(secured_stack, "runs", **cfg)
    assert after.returncode == 1 and "nebhx login" in after.stderr
    wrong = nebhx(secured_stack, "login", "--user", "olga", "--password-stdin", input="nope nope\n", **cfg)
    assert wrong.returncode == 1 and "wrong user name or password" in wrong.stderr


@pytest.mark.parametrize("command", ["api", "up"])
def test_binding_beyond_loopback_without_a_user_is_refused(tmp_path, command):
    res = subprocess.run([sys.executable, "-m", "nebhx.cli.main", command, "--host", "0.0.0.0", "--port", "1"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT, env=make_env(tmp_path))
    assert res.returncode == 2
    assert "no user exists" in res.stdout and "nebhx user add admin --role admin" in res.stdout


def _decide(stack, token: str, run_id: str, what: str = "approve", comment: str = "") -> httpx.Response:
    with api(stack, token) as c:
        return c.post(f"/runs/{run_id}/nodes/gate/{what}", json={"comment": comment})


def _gate(stack, people, run_id: str) -> dict:
    with api(stack, people["ada"]) as c:
        return c.get(f"/runs/{run_id}").json()["nodes"]["gate"]


def test_the_starter_may_not_approve_their_own_run_but_another_operator_may(secured_stack, people):
    run_id = start_gate(secured_stack, people, "self-approval", starter="olga")
    refused = _decide(secured_stack, people["olga"], run_id)
    assert refused.status_code == 403
    assert f"olga started run {run_id} and may not approve its own run" in refused.json()["detail"]
    cli = nebhx(secured_stack, "approve", run_id, "gate", NEBHX_TOKEN=people["olga"])
    assert cli.returncode == 1 and "may not approve its own run" in cli.stderr
    assert _gate(secured_stack, people, run_id)["status"] == "waiting"
    assert _decide(secured_stack, people["ann"], run_id, comment="seen it").status_code == 200
    gate = wait_for(lambda: (g := _gate(secured_stack, people, run_id))["status"] == "succeeded" and g, 30,
                    what="gate approved")
    assert gate["outputs"]["by"] == "ann"
    with api(secured_stack, people["ada"]) as admin:
        rows = admin.get("/audit", params={"action": "runs.approve"}).json()
    mine = [(r["actor"], r["data"]["status"]) for r in rows if r["target"] == f"/api/runs/{run_id}/nodes/gate/approve"]
    assert sorted(mine) == [("ann", 200), ("olga", 403), ("olga", 403)]


def test_two_of_three_named_approvers_and_nobody_else(secured_stack, people):
    run_id = start_gate(secured_stack, people, "two-of-three", approvers=["ann", "bob", "cy"], required=2,
                        message="two of three")
    outsider = _decide(secured_stack, people["ada"], run_id)  # an admin, but not named
    assert outsider.status_code == 403 and "ada is not among the approvers" in outsider.json()["detail"]
    assert _decide(secured_stack, people["ann"], run_id, comment="first").status_code == 200
    gate = _gate(secured_stack, people, run_id)
    assert gate["status"] == "waiting" and [a["by"] for a in gate["wait"]["approvals"]] == ["ann"]
    again = _decide(secured_stack, people["ann"], run_id)
    assert again.status_code == 403 and "needs 2 different approvers" in again.json()["detail"]
    assert _decide(secured_stack, people["bob"], run_id, comment="second").status_code == 200
    gate = wait_for(lambda: (g := _gate(secured_stack, people, run_id))["status"] == "succeeded" and g, 30,
                    what="gate approved by two")
    assert [(a["by"], a["comment"]) for a in gate["outputs"]["approvals"]] == [("ann", "first"), ("bob", "second")]
    assert _decide(secured_stack, people["cy"], run_id).status_code == 409  # decided already


def test_a_gate_for_admins_refuses_an_operator_and_any_approver_may_reject(secured_stack, people):
    run_id = start_gate(secured_stack, people, "admins-only", approver_role="admin")
    refused = _decide(secured_stack, people["olga"], run_id)
    assert refused.status_code == 403 and "needs the role admin; olga is operator" in refused.json()["detail"]
    run_id = start_gate(secured_stack, people, "starter-rejects", starter="olga", required=2)
    assert _decide(secured_stack, people["olga"], run_id, "reject", "wrong build").status_code == 200
    gate = wait_for(lambda: (g := _gate(secured_stack, people, run_id))["status"] == "failed" and g, 30,
                    what="gate rejected")
    assert gate["error"] == "rejected by olga: wrong build"


def test_on_expiry_approve_lets_the_run_go_on(secured_stack, people):
    run_id = start_gate(secured_stack, people, "expiry-approves", timeout_s=1, on_expiry="approve")
    gate = wait_for(lambda: (g := _gate(secured_stack, people, run_id))["status"] == "succeeded" and g, 30,
                    what="gate approved on expiry")
    assert gate["outputs"]["by"] == "expiry"
    with api(secured_stack, people["ada"]) as c:
        assert wait_for(lambda: c.get(f"/runs/{run_id}").json()["status"] == "succeeded", 30, what="run done")
