"""A host whose agent runs but does not answer never holds a plan up: the other hosts' answers
are shown, and its items say it did not answer within the plan's host deadline."""
from __future__ import annotations

import time
from datetime import timedelta

from plan_agents import SimulatedAgents
from support import graph, wire

from nebhx.store.models import HostRow, WorkerRow, utcnow

ANSWERING = ["web000", "web001", "web002"]


def test_a_silent_host_does_not_block_the_plan(db_url, monkeypatch, tmp_path):
    from nebhx.plans.dryrun import plan_request
    from nebhx.settings import reset_settings
    from nebhx.store.db import session_scope
    for key, value in {"NEBHX_HOME": str(tmp_path), "NEBHX_DATABASE_URL": db_url,
                       "NEBHX_PLAN_HOST_TIMEOUT_S": "2"}.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    with session_scope() as s:
        for name in [*ANSWERING, "mute"]:
            s.merge(HostRow(name=name, labels={"role": "web"}, last_seen=utcnow()))
        # mute's agent process beats (so it is asked), but it never takes its queue's tasks.
        s.merge(WorkerRow(id="mute:w", host="mute", last_seen=utcnow() + timedelta(seconds=60)))
    doc = graph("switch", [("sel", "hosts.select", {"selector": "role=web"}),
                           ("switch", "release.switch", {"service": "app", "release": "r2"}, {"for_each": "host"})],
                [wire("sel", "hosts", "switch", "host")])
    with SimulatedAgents(db_url, ANSWERING, tmp_path / "hosts"):
        started = time.monotonic()
        items = plan_request(graph=doc, inputs={})["nodes"]["switch"]["items"]
        took = time.monotonic() - started
    told = {i["host"]: i["effect"] for i in items}
    assert set(told) == {*ANSWERING, "mute"}
    assert told["mute"] == "cannot tell: host mute did not answer within 2 s (its agent is busy or stuck)"
    for host in ANSWERING:  # each answered for itself: r2 is staged on none of them
        assert told[host].startswith(f"would fail: release 'r2' of 'app' is not staged on host {host}"), told[host]
    assert took < 12  # the host deadline (2 s), not a hang (generous: a shared machine)
    reset_settings()
