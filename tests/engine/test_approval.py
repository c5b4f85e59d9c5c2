"""Approval gates: waiting holds no worker, a person approves or rejects, rejection branches."""
from __future__ import annotations

import subprocess
import sys

import pytest
from aiosmtpd.controller import Controller

from support import ROOT, Inbox, free_port, graph, order, wait_for


@pytest.fixture(scope="module")
def smtp():
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=free_port())
    ctl.start()
    yield ctl, inbox
    ctl.stop()


def gate_graph(name, smtp_port, timeout_s=None):
    gate = {"message": "Promote 10% canary?", "notify_to": ["admin@example.org"], "smtp_port": smtp_port}
    if timeout_s:
        gate["timeout_s"] = timeout_s
    return graph(name, [("canary", "test.noop"), ("gate", "gate.approval", gate),
                        ("rest", "test.echo", {"text": "promoted"}),
                        ("rollback", "test.echo", {"text": "rolled back"}, {"trigger": "any_failed"})],
                 [order("canary", "gate"), order("gate", "rest"), order("gate", "rollback")])


def test_approve_continues_and_records_who(stack, smtp):
    ctl, inbox = smtp
    run = stack.run(gate_graph("approve", ctl.port), wait=False)
    waiting = stack.wait_node(run["id"], "gate", "waiting")
    assert waiting["nodes"]["gate"]["wait"]["reason"] == "Promote 10% canary?"
    mail = wait_for(lambda: next((m for m in inbox.messages if run["id"] in m.content.decode()), None), 10,
                    what="mail")
    assert mail.rcpt_tos == ["admin@example.org"] and f"nebhx approve {run['id']} gate" in mail.content.decode()
    # The link opens the gate in the editor; the mail says who may decide.
    assert f"/#/runs/{run['id']}/nodes/gate" in mail.content.decode()
    assert "It needs 1 approval(s) from anyone with the role operator (not the person who started the run)" \
        in mail.content.decode().replace("=\r\n", "").replace("\r\n", "\n")
    # Open mode (loopback, no user): the approver is the local admin, whatever name a body gives.
    res = subprocess.run([sys.executable, "-m", "nebhx.cli.main", "approve", run["id"], "gate",
                          "--comment", "looks good"], env={**stack.env, "NEBHX_URL": stack.url},
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 0, res.stderr
    done = stack.wait_run(run["id"])
    assert done["status"] == "succeeded"
    out = done["nodes"]["gate"]["outputs"]
    assert out["approved"] is True and out["by"] == "local" and out["comment"] == "looks good" and out["at"]
    assert done["nodes"]["rollback"]["status"] == "skipped"
    with stack.client() as c:
        assert c.post(f"/runs/{run['id']}/nodes/gate/approve", json={"by": "x"}).status_code == 409
        audit = c.get("/audit").json()
    target = f"/api/runs/{run['id']}/nodes/gate/approve"
    assert [(a["actor"], a["action"], a["data"]) for a in audit if a["target"] == target] == [
        ("local", "runs.approve", {"status": 409, "comment": ""}),
        ("local", "runs.approve", {"status": 200, "comment": "looks good"})]


def test_reject_fails_the_gate_and_rolls_back(stack, smtp):
    ctl, _ = smtp
    run = stack.run(gate_graph("reject", ctl.port), wait=False)
    stack.wait_node(run["id"], "gate", "waiting")
    with stack.client() as c:
        assert c.post(f"/runs/{run['id']}/nodes/gate/reject", json={"by": "bob", "comment": "5xx up"}).status_code == 200
    done = stack.wait_run(run["id"])
    assert done["nodes"]["gate"]["error"] == "rejected by local: 5xx up"  # not by the body's "bob"
    assert {k: v["status"] for k, v in done["nodes"].items()} == {
        "canary": "succeeded", "gate": "failed", "rest": "skipped", "rollback": "succeeded"}


def test_waiting_gates_hold_no_worker(stack, smtp):
    ctl, _ = smtp
    n = 6  # more than the worker's 4 processes
    doc = graph("many-gates", [(f"g{i}", "gate.approval", {"message": f"gate {i}"}) for i in range(n)])
    run = stack.run(doc, wait=False)
    wait_for(lambda: all(v["status"] == "waiting" for v in stack.get_run(run["id"])["nodes"].values()), 30,
             what="all gates waiting")
    echo = stack.run(graph("meanwhile", [("e", "test.echo", {"text": "workers are free"})]))
    assert echo["status"] == "succeeded"
    with stack.client() as c:
        c.post(f"/runs/{run['id']}/cancel")
