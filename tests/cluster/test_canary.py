"""examples/canary-update.json on four real hosts (network namespaces labelled role=web,
each with its agent and supervisord; HAProxy on h1 in front of all four; a real SMTP
inbox): v1 first, then an approved canary update under load, a rejected one, one whose
release cannot start; the releases view, a rollback by hand, a synchronous switch, and a host
of the rest that fails (every host the run switched rolled back, the others left alone)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from netns import ROOT, wait_for
from rollout_support import (CANARY, HOOK, LB_PORT, SYNC, Load, app, canary_inputs, deploy_v1, finished,
                             mail_text, node_status, release, start, web_cluster)
from support import Inbox

REST = ("h2", "h3", "h4")


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    c = web_cluster(tmp_path_factory.mktemp("canary"))
    try:
        c.up()
        c.inbox = Inbox()
        c.smtp = Controller(c.inbox, hostname=c.gateway, port=c.free_port())
        c.smtp.start()
        c.v1 = deploy_v1(c)
        c.canary = json.loads(CANARY.read_text())
    except BaseException:
        problems = c.down()
        raise AssertionError(f"the cluster did not come up (logs in {c.workdir}): {problems}") \
            from sys.exc_info()[1]
    yield c
    c.smtp.stop()
    problems = c.down()
    assert not problems, problems


def through_lb(web, n: int = 16) -> dict[int, dict]:
    seen = {}
    for _ in range(n):
        resp = httpx.get(f"http://{web.address('h1')}:{LB_PORT}/", timeout=5, trust_env=False)
        body = resp.json()
        seen[body["pid"]] = body
    return seen


def cli(web, token: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}
    env.update(NEBHX_URL=web.api_url, NEBHX_TOKEN=token, XDG_CONFIG_HOME=str(web.workdir / "cli"), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "nebhx.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def releases(web, host: str | None = None) -> dict[str, dict]:
    with web.client() as c:
        rows = c.get("/releases", params={"service": "web", **({"host": host} if host else {})}).json()
    return {r["host"]: r for r in rows}


def test_v1_runs_on_four_hosts_behind_haproxy_on_h1(web):
    assert {h: app(web, h)["version"] for h in web.hosts} == {h: "1.0.0" for h in web.hosts}
    seen = wait_for(lambda: len(s := through_lb(web)) == 4 and s, 20, 0.5, what="4 backends")
    assert {b["version"] for b in seen.values()} == {"1.0.0"}


def test_approved_canary_switches_h1_first_then_the_rest_under_load(web):
    sent = len(web.inbox.messages)
    with Load(web.address("h1")) as load:
        t0 = time.monotonic()
        run_id = start(web, web.canary, canary_inputs(web, "2.0.0", web.smtp.port))
        run = node_status(web, run_id, "approve", "waiting")
        # Only the canary (10% of 4 -> 1, the first by name) switched; the gate holds the rest.
        assert run["nodes"]["split"]["outputs"] == {"head": ["h1"], "rest": list(REST)}
        assert app(web, "h1")["version"] == "2.0.0"
        assert {h: app(web, h)["version"] for h in REST} == {h: "1.0.0" for h in REST}
        [mail] = web.inbox.messages[sent:]
        text = mail_text(mail)
        assert "Subject: web: the canary runs the new release" in text
        assert "canary hosts h1 run the new release" in text and "h1: web 1.0.0 -> 2.0.0" in text
        assert web.approve(run_id, "canary ok") == 200
        run = finished(web, run_id)
        t1 = time.monotonic()
    assert run["status"] == "succeeded", run["error"]
    rest = run["nodes"]["rest"]
    assert [r for r in rest["outputs"]["release_id"]] == ["2.0.0"] * 3
    # In batches of one: each host switched after the previous one had ended.
    starts = sorted(item["started_at"] for item in rest["items"])
    ends = sorted(item["finished_at"] for item in rest["items"])
    assert starts[1] >= ends[0] and starts[2] >= ends[1]
    assert run["outputs"]["committed"] == ["2.0.0"] * 4
    assert run["nodes"]["rollback"]["status"] == "skipped"
    seen = wait_for(lambda: len(s := through_lb(web)) == 4 and s, 20, 0.5, what="4 backends")
    assert {b["version"] for b in seen.values()} == {"2.0.0"}
    figures = load.window(t0, t1)
    print(f"\nload through HAProxy during the canary rollout: {figures}")
    assert figures["requests"] > 100 and figures["failed"] == 0, figures
    web.pids_v2 = {h: app(web, h)["pid"] for h in web.hosts}


def test_the_releases_view_shows_the_committed_release_on_every_host(web):
    def committed():
        rows = releases(web)
        return rows if all(rows.get(h, {}).get("phase") == "committed" for h in web.hosts) else None
    rows = wait_for(committed, 30, 1, what="releases view: committed on four hosts")
    for h in web.hosts:
        row = rows[h]
        assert (row["active"], row["previous"], row["health"]["ok"]) == ("2.0.0", "1.0.0", True)
        flags = {r["id"]: r for r in row["releases"]}
        assert flags["2.0.0"]["committed_at"] and flags["2.0.0"]["active"]
        assert flags["1.0.0"]["previous"] and not flags["1.0.0"]["committed_at"]
    res = cli(web, web.admin_token, "releases", "--host", "h3", "--service", "web", "--json")
    assert res.returncode == 0, res.stderr
    [row] = json.loads(res.stdout)
    assert (row["host"], row["active"], row["phase"]) == ("h3", "2.0.0", "committed")
    table = cli(web, web.admin_token, "releases", "--service", "web")
    assert "2.0.0 (active, committed)" in table.stdout and "1.0.0 (previous)" in table.stdout


def test_a_rejected_canary_is_rolled_back_and_the_rest_untouched(web):
    sent = len(web.inbox.messages)
    run_id = start(web, web.canary, canary_inputs(web, "3.0.0", web.smtp.port))
    node_status(web, run_id, "approve", "waiting")
    assert app(web, "h1")["version"] == "3.0.0"
    with web.client() as c:
        assert c.post(f"/runs/{run_id}/nodes/approve/reject", json={"comment": "latency"}).status_code == 200
    run = finished(web, run_id)
    assert run["status"] == "failed" and run["error"] == "failed nodes: approve", run["error"]
    assert run["nodes"]["rest"]["status"] == "skipped" and run["nodes"]["commit"]["status"] == "skipped"
    assert app(web, "h1")["version"] == "2.0.0"
    assert {h: (app(web, h)["version"], app(web, h)["pid"]) for h in REST} == \
        {h: ("2.0.0", web.pids_v2[h]) for h in REST}
    canary_mail, rollback_mail = (mail_text(m) for m in web.inbox.messages[sent:])
    assert "h1: web 2.0.0 -> 3.0.0" in canary_mail
    assert "Subject: web: the update was rolled back" in rollback_mail
    assert "h1: web rolled back from 3.0.0 to 2.0.0 (data: keep_new)" in rollback_mail
    row = wait_for(lambda: (r := releases(web, "h1")["h1"])["phase"] == "rolled_back" and r, 30, 1,
                   what="releases view: h1 rolled back")
    flags = {r["id"]: r for r in row["releases"]}
    assert flags["3.0.0"]["rolled_back"] and row["active"] == "2.0.0"


def test_a_release_that_cannot_start_rolls_the_canary_back_by_itself(web):
    sent = len(web.inbox.messages)
    before = {h: app(web, h)["pid"] for h in REST}
    run = finished(web, start(web, web.canary, canary_inputs(web, "4.0.0", web.smtp.port, crash=True)))
    assert run["status"] == "failed" and run["error"] == "failed nodes: canary", run["error"]
    error = run["nodes"]["canary"]["error"]
    assert "host h1: readiness failed for release 4.0.0" in error and "schema mismatch" in error, error
    assert "rolled back to release 2.0.0" in error
    assert {run["nodes"][n]["status"] for n in ("tell_canary", "approve", "rest")} == {"skipped"}
    assert app(web, "h1")["version"] == "2.0.0"
    assert {h: (app(web, h)["version"], app(web, h)["pid"]) for h in REST} == \
        {h: ("2.0.0", before[h]) for h in REST}
    [mail] = (mail_text(m) for m in web.inbox.messages[sent:])
    assert "h1: web had rolled itself back from 4.0.0 to 2.0.0 after a failed readiness" in mail
    assert "schema mismatch" in mail


def test_an_operator_rolls_one_host_back_by_hand(web):
    with web.client() as c:
        c.post("/users", json={"name": "olga", "password": "operator-pass-1", "role": "operator"})
        token = c.post("/auth/token", json={"username": "olga", "password": "operator-pass-1",
                                            "name": "rollback"}).json()["token"]
    res = cli(web, token, "rollback", "--host", "h2", "--service", "web", "--json")
    assert res.returncode == 0, (res.stdout[-2000:], res.stderr)
    run = json.loads(res.stdout)
    # One run over the hosts named (one here), batched: each output is a list, a host each.
    assert run["status"] == "succeeded" and run["outputs"]["release_id"] == ["1.0.0"]
    assert ["h2: web rolled back from 2.0.0 to 1.0.0 (data: keep_new)"] == run["outputs"]["summary"]
    assert app(web, "h2")["version"] == "1.0.0"
    assert {h: app(web, h)["version"] for h in ("h3", "h4")} == {"h3": "2.0.0", "h4": "2.0.0"}
    row = wait_for(lambda: (r := releases(web, "h2")["h2"])["phase"] == "rolled_back" and r, 30, 1,
                   what="releases view: h2 rolled back")
    assert row["active"] == "1.0.0" and {r["id"]: r for r in row["releases"]}["2.0.0"]["rolled_back"]
    unknown = cli(web, token, "rollback", "--host", "h9", "--service", "web")
    assert unknown.returncode == 1 and "no host 'h9'" in unknown.stderr


def test_a_synchronous_switch_moves_four_hosts_within_a_fraction_of_a_second(web):
    doc = json.loads(SYNC.read_text())
    inputs = {k: v for k, v in canary_inputs(web, "5.0.0", web.smtp.port).items()
              if k in ("selector", "app_source", "release_id", "port", "profiles")}
    run = finished(web, start(web, doc, inputs))
    assert run["status"] == "succeeded", run["error"]
    outs = run["outputs"]
    assert sorted(outs["switched_at"]) == list(web.hosts)
    not_before = run["nodes"]["barrier"]["outputs"]["not_before"]
    assert min(outs["switched_at"].values()) >= not_before
    assert outs["skew_ms"] < 500, outs  # bench/sync_switch.py measures it (goal: under 100 ms)
    assert {h: app(web, h)["version"] for h in web.hosts} == {h: "5.0.0" for h in web.hosts}
    waits = [next(s for s in item["outputs"]["steps"] if s["step"] == "wait")
             for item in run["nodes"]["switch"]["items"]]
    assert all(w["seconds"] > 0 for w in waits), waits
    print(f"\nsynchronous switch of 4 hosts: skew {outs['skew_ms']} ms")
    seen = wait_for(lambda: len(s := through_lb(web)) == 4 and s, 20, 0.5, what="4 backends")
    assert {b["version"] for b in seen.values()} == {"5.0.0"}


def test_a_host_of_the_rest_failing_rolls_back_every_host_this_run_switched(web):
    """Batches of one and max_failures 0: h1 (canary) and h2 switch, h3's release cannot start
    there (it rolls itself back), h4 is never reached. The failure branch rolls h1 and h2 back
    too, leaves h4 alone, and the e-mail names h1, h2 and h3."""
    sent, before = len(web.inbox.messages), {h: app(web, h) for h in web.hosts}
    source = release(web.workdir, "6.0.0")
    hook = '    if args.data and (args.data / "refuse-6").exists():\n        raise SystemExit("6.0.0 refuses this host")\n'
    path = Path(source) / "webapp.py"
    path.write_text(path.read_text().replace(HOOK, HOOK + hook))
    (web.workdir / "hosts" / "h3" / "volumes" / "web-data" / "refuse-6").write_text("")
    run_id = start(web, web.canary, {**canary_inputs(web, "6.0.0", web.smtp.port), "app_source": source})
    node_status(web, run_id, "approve", "waiting")
    assert web.approve(run_id, "go") == 200
    run = finished(web, run_id)
    assert run["status"] == "failed" and run["error"] == "failed nodes: rest", run["error"]
    assert [i["status"] for i in run["nodes"]["rest"]["items"]] == ["succeeded", "failed", "skipped"]
    assert run["nodes"]["commit"]["status"] == "skipped"
    rollback = run["nodes"]["rollback"]
    assert rollback["status"] == "succeeded" and rollback["outputs"]["rolled_back_host"] == ["h1", "h2", "h3", None]
    now = {h: app(web, h) for h in web.hosts}
    assert {h: a["version"] for h, a in now.items()} == {h: before[h]["version"] for h in web.hosts}
    assert now["h4"]["pid"] == before["h4"]["pid"]  # not touched
    rollback_mail = mail_text(web.inbox.messages[-1])
    assert len(web.inbox.messages) - sent == 2 and "Subject: web: the update was rolled back" in rollback_mail
    assert "rolled back on h1, h2, h3: the hosts this run had switched" in rollback_mail
    assert "h2: web rolled back from 6.0.0 to" in rollback_mail
    assert "h3: web had rolled itself back from 6.0.0 to" in rollback_mail
    assert "h4: web was not switched by this run: left alone" in rollback_mail
