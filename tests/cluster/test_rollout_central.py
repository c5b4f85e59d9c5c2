"""examples/canary-update.json with one central HAProxy on its own host (lb) in front of three
namespace hosts (h1..h3, each with its agent and supervisord), and clients sending requests
through it during every scenario: approved, rejected, failing on the canary, failing on the
rest after the approval, and a switch that fails before changing anything. Each host drains
its own backend there through its agent check; every scenario loses 0 requests, and a host
nothing was switched on keeps its program (environment included) and address."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from rollout_support import (CANARY, HOOK, LB_PORT, Load, app, as_deployed, central_cluster,
                             central_deploy, central_inputs, finished, mail_text, node_status, release,
                             start)
from support import Inbox

WEB = ("h1", "h2", "h3")


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    c = central_cluster(tmp_path_factory.mktemp("central"))
    try:
        c.up()
        c.inbox = Inbox()
        c.smtp = Controller(c.inbox, hostname=c.gateway, port=c.free_port())
        c.smtp.start()
        central_deploy(c)
        c.canary = json.loads(CANARY.read_text())
    except BaseException:
        problems = c.down()
        raise AssertionError(f"the cluster did not come up (logs in {c.workdir}): {problems}") \
            from sys.exc_info()[1]
    yield c
    c.smtp.stop()
    problems = c.down()
    assert not problems, problems


def load(web) -> Load:
    return Load(web.address("lb"), LB_PORT)


def errors(run: dict) -> dict:
    """Every failed node's and fan-out item's error, for the assertion message."""
    out = {k: n["error"] for k, n in run["nodes"].items() if n["status"] == "failed"}
    for k, n in run["nodes"].items():
        out.update({f"{k}[{i}]": item.get("error") for i, item in enumerate(n.get("items") or [])
                    if item.get("status") == "failed"})
    return out


def no_failures(figures: dict) -> None:
    print(f"\nload through the central HAProxy: {figures}")
    assert figures["requests"] > 50 and figures["failed"] == 0, figures


def test_v1_serves_through_the_central_balancer_with_its_environment(web):
    assert {h: app(web, h)["version"] for h in WEB} == {h: "1.0.0" for h in WEB}
    for h in WEB:
        text, rec = as_deployed(web, h)
        assert 'environment=motd="hello",tier="gold"' in text
        assert rec["address"] == f"{web.address(h)}:8110"
    with load(web) as lo:
        time.sleep(2)
    no_failures(lo.window())
    assert lo.window()["versions"] == ["1.0.0"]


def test_a_switch_that_fails_before_changing_anything(web):
    """The balancer does not ask the port the switch names: the drain is never taken, so the
    canary fails before any change; nothing is rolled back, nothing restarted."""
    before = {h: (as_deployed(web, h), app(web, h)["pid"]) for h in WEB}
    with load(web) as lo:
        run = finished(web, start(web, web.canary, {**central_inputs(web, "2.0.0", web.smtp.port),
                                                    "lb_agent_port": 8098}))
    assert run["status"] == "failed" and run["error"] == "failed nodes: canary", errors(run)
    error = run["nodes"]["canary"]["error"]
    assert "did not take 'drain'" in error and "nothing was changed: web still runs release 1.0.0" in error
    assert run["nodes"]["rollback"]["outputs"]["rolled_back_host"] == [None] * 3
    assert {h: (as_deployed(web, h), app(web, h)["pid"]) for h in WEB} == before
    no_failures(lo.window())


def test_an_approved_canary(web):
    with load(web) as lo:
        run_id = start(web, web.canary, central_inputs(web, "2.0.0", web.smtp.port))
        node_status(web, run_id, "approve", "waiting")
        assert app(web, "h1")["version"] == "2.0.0"
        assert {h: app(web, h)["version"] for h in ("h2", "h3")} == {"h2": "1.0.0", "h3": "1.0.0"}
        with web.client() as c:
            assert c.post(f"/runs/{run_id}/nodes/approve/approve", json={}).status_code == 200
        run = finished(web, run_id)
    assert run["status"] == "succeeded", errors(run)
    steps = [s["step"] for s in run["nodes"]["canary"]["items"][0]["outputs"]["steps"]]
    assert steps[0] == "drain" and steps[-1] == "enable"
    no_failures(lo.window())
    assert {h: app(web, h)["version"] for h in WEB} == {h: "2.0.0" for h in WEB}
    web.v2 = {h: (as_deployed(web, h), app(web, h)["pid"]) for h in WEB}


def test_a_rejected_canary(web):
    with load(web) as lo:
        run_id = start(web, web.canary, central_inputs(web, "3.0.0", web.smtp.port))
        node_status(web, run_id, "approve", "waiting")
        with web.client() as c:
            assert c.post(f"/runs/{run_id}/nodes/approve/reject", json={}).status_code == 200
        run = finished(web, run_id)
    assert run["status"] == "failed" and run["error"] == "failed nodes: approve", errors(run)
    no_failures(lo.window())
    now = {h: (as_deployed(web, h), app(web, h)["pid"]) for h in WEB}
    assert now["h1"][0] == web.v2["h1"][0]  # the canary's program and record as they were
    assert {h: now[h] for h in ("h2", "h3")} == {h: web.v2[h] for h in ("h2", "h3")}  # untouched
    summary = run["nodes"]["rollback"]["outputs"]["summary"][0]
    assert summary == "h1: web rolled back from 3.0.0 to 2.0.0 (data: keep_new)", summary


def test_a_release_failing_on_the_canary(web):
    with load(web) as lo:
        run = finished(web, start(web, web.canary, central_inputs(web, "4.0.0", web.smtp.port, crash=True)))
    assert run["status"] == "failed" and run["error"] == "failed nodes: canary", errors(run)
    assert "rolled back to release 2.0.0" in run["nodes"]["canary"]["error"]
    no_failures(lo.window())
    now = {h: (as_deployed(web, h), app(web, h)["pid"]) for h in WEB}
    assert now["h1"][0] == web.v2["h1"][0] and {h: now[h] for h in ("h2", "h3")} == \
        {h: web.v2[h] for h in ("h2", "h3")}


def test_a_host_of_the_rest_failing_after_the_approval(web):
    """h1 (canary) and h2 switch, 6.0.0 refuses to start on h3: the rollback takes h1 and h2
    back one at a time, through the central balancer, without a failed request."""
    source = release(web.workdir, "6.0.0")
    hook = '    if args.data and (args.data / "refuse-6").exists():\n        raise SystemExit("6.0.0 refuses this host")\n'
    path = Path(source) / "webapp.py"
    path.write_text(path.read_text().replace(HOOK, HOOK + hook))
    (web.workdir / "hosts" / "h3" / "volumes" / "web-data" / "refuse-6").write_text("")
    sent = len(web.inbox.messages)
    with load(web) as lo:
        run_id = start(web, web.canary, {**central_inputs(web, "6.0.0", web.smtp.port), "app_source": source})
        node_status(web, run_id, "approve", "waiting")
        with web.client() as c:
            assert c.post(f"/runs/{run_id}/nodes/approve/approve", json={}).status_code == 200
        run = finished(web, run_id)
    assert run["status"] == "failed" and run["error"] == "failed nodes: rest", errors(run)
    rollback = run["nodes"]["rollback"]
    assert rollback["outputs"]["rolled_back_host"] == ["h1", "h2", "h3"]
    starts = sorted(i["started_at"] for i in rollback["items"])
    ends = sorted(i["finished_at"] for i in rollback["items"])
    assert starts[1] >= ends[0] and starts[2] >= ends[1]  # one host at a time
    no_failures(lo.window())
    now = {h: (as_deployed(web, h), app(web, h)) for h in WEB}
    assert {h: a["version"] for h, (_d, a) in now.items()} == {h: "2.0.0" for h in WEB}
    assert {h: d for h, (d, _a) in now.items()} == {h: web.v2[h][0] for h in WEB}
    mail = mail_text(web.inbox.messages[-1])
    assert len(web.inbox.messages) - sent == 2 and "h2: web rolled back from 6.0.0 to 2.0.0" in mail
