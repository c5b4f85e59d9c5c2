"""examples/canary-update.json with one central HAProxy on its own host (lb) in front of three
namespace hosts (h1..h3, each with its agent and supervisord), and clients sending requests
through it during every scenario: approved, rejected, failing on the canary, failing on the
rest after the approval, and a switch that fails before changing anything. Each host drains
its own backend there through its agent check; every scenario loses 0 requests, and a host
nothing was switched on keeps its program (environment included) and address. Then with a
standby on each host's second slot: an instant rollback of the canary and the rest (the
previous processes thawed, the same pids), and a synchronous switch (examples/sync-update.json)
with one host failing readiness, every host back at once."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from rollout_support import (CANARY, HOOK, LB_PORT, PORT, STANDBY_PORT, SYNC, Load, app, as_deployed,
                             central_cluster, central_deploy, central_inputs, finished, lb_states,
                             mail_text, node_status, release, standby_entry, start)
from netns import wait_for
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
        assert web.approve(run_id) == 200
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
        assert web.approve(run_id) == 200
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


def slow_release(web, version: str) -> str:
    """``version``, 4 s to start (the new slot's wait, never the rollback's), refusing on h3."""
    source = release(web.workdir, version)
    hook = (f'    if args.data and (args.data / "refuse-{version}").exists():\n'
            f'        raise SystemExit("{version} refuses this host")\n'
            '    __import__("time").sleep(4)\n')
    path = Path(source) / "webapp.py"
    if hook not in path.read_text():
        path.write_text(path.read_text().replace(HOOK, HOOK + hook))
    (web.workdir / "hosts" / "h3" / "volumes" / "web-data" / f"refuse-{version}").write_text("")
    return source


STANDBY = {"standby_s": 300, "standby_port": STANDBY_PORT, "standby_warm_s": 1}


def test_an_instant_rollback_of_the_canary_and_the_rest(web):
    """7.0.0 starts in 4 s and refuses to start on h3. h1 (the canary) and h2 each start it on
    their second slot beside 2.0.0, which stays there out of rotation, frozen after 1 s; when h3
    fails, the rollback thaws h1's and h2's previous processes and puts them back in rotation:
    no start, the same pids, the programs and records as they were, 0 failed requests."""
    before = {h: (as_deployed(web, h), app(web, h)["pid"]) for h in WEB}
    inputs = {**central_inputs(web, "7.0.0", web.smtp.port), "app_source": slow_release(web, "7.0.0"), **STANDBY}
    with load(web) as lo:
        run_id = start(web, web.canary, inputs)
        node_status(web, run_id, "approve", "waiting")
        h1, h1_new = f"{web.address('h1')}:{PORT}", f"{web.address('h1')}:{STANDBY_PORT}"
        assert lb_states(web)[h1].startswith("MAINT") and lb_states(web)[h1_new].startswith("UP")
        assert wait_for(lambda: (standby_entry(web, "h1") or {}).get("state") == "frozen", 30, 0.1,
                        what="h1's standby frozen")
        assert standby_entry(web, "h1")["pid"] == before["h1"][1]  # the very process that served
        assert web.approve(run_id) == 200
        run = finished(web, run_id)
    assert run["status"] == "failed" and run["error"] == "failed nodes: rest", errors(run)
    items = [i["outputs"] for i in run["nodes"]["rollback"]["items"]]
    assert [i["rolled_back_host"] for i in items] == ["h1", "h2", "h3"]
    assert [i["instant"] for i in items] == [True, True, False]  # h3's new slot never served
    print(f"\ninstant rollback, from its start on each host to serving: "
          f"{[i['serving_s'] for i in items[:2]]} s")
    no_failures(lo.window())
    assert {h: (as_deployed(web, h), app(web, h)["pid"]) for h in WEB} == before
    assert {h: app(web, h)["version"] for h in WEB} == {h: "2.0.0" for h in WEB}
    states = lb_states(web)
    assert all(states[f"{web.address(h)}:{STANDBY_PORT}"].startswith("MAINT") for h in WEB), states
    assert all(standby_entry(web, h) is None for h in WEB)


def test_a_synchronous_switch_with_one_host_failing_readiness(web):
    """examples/sync-update.json over h1..h3 through the central balancer, each with a standby:
    8.0.0 refuses to start on h3, so every host goes back at once (h1 and h2 thawed), 0 failed."""
    before = {h: (as_deployed(web, h), app(web, h)["pid"]) for h in WEB}
    source = slow_release(web, "8.0.0")
    inputs = {k: v for k, v in central_inputs(web, "8.0.0", web.smtp.port).items()
              if k not in ("smtp_host", "smtp_port")}
    inputs.update(app_source=source, delay_s=2, **STANDBY)
    sync = json.loads(SYNC.read_text())
    with load(web) as lo:
        run = finished(web, start(web, sync, inputs))
    assert run["status"] == "failed" and run["error"] == "failed nodes: switch", errors(run)
    switched = [i for i in run["nodes"]["switch"]["items"]]
    assert [i["status"] for i in switched] == ["succeeded", "succeeded", "failed"]
    assert "rolled back to release 2.0.0" in switched[2]["error"]
    items = [i["outputs"] for i in run["nodes"]["rollback"]["items"]]
    assert [i["rolled_back_host"] for i in items] == ["h1", "h2", "h3"]
    assert [i["instant"] for i in items] == [True, True, False]
    no_failures(lo.window())
    assert {h: (as_deployed(web, h), app(web, h)["pid"]) for h in WEB} == before
    assert lo.window()["versions"] in (["2.0.0"], ["2.0.0", "8.0.0"])
