"""A failure among "the rest" of a rollout: the failure branch rolls back every host this run
switched (the canary and the rest already switched) and leaves the hosts it did not reach
alone. Four hosts, each a HostRuntime with its own home and supervisord, as an agent has."""
from __future__ import annotations

from pathlib import Path

import pytest

from nebhx import BrickFailed, Context
from nebhx.runtime import HostRuntime
from support import free_port
from test_rollout import CMD, CRASHES, app, brick, get, profiles

HOSTS = ("h1", "h2", "h3", "h4")


class Fleet:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.rts = {h: HostRuntime(h, tmp / h) for h in HOSTS}
        self.ports = {h: free_port() for h in HOSTS}
        for rt in self.rts.values():
            rt.address = "127.0.0.1"

    def ctx(self, host: str, run: str) -> Context:
        return Context(run_id=run, node_id="n", runtime=self.rts[host], host=host)

    def prepare(self, host: str, version: str, at_start: str = "") -> None:
        src = self.tmp / f"{host}-{version}"  # one source per host: only h3's may crash
        src.mkdir(exist_ok=True)
        brick("rollout.prepare")(self.ctx(host, "prep"), host=host, service="web", release_id=version,
                                 source=app(src, version, at_start), profiles=profiles(), profile="web")

    def switch(self, host: str, run: str, **kw):
        self.rts[host].volumes.create("web-data")
        return brick("rollout.switch")(self.ctx(host, run), host=host, service="web", command=CMD,
                                       port=self.ports[host], volume="web-data", ready_http="/health",
                                       ready_timeout_s=15, **kw)

    def rollback(self, host: str, run: str, **kw):
        return brick("rollout.rollback")(self.ctx(host, run), host=host, service="web", **kw)

    def version(self, host: str) -> str:
        return get(self.ports[host])["version"]


@pytest.fixture
def fleet(tmp_path):
    """Every host serving 1.0.0, switched there by an earlier run."""
    f = Fleet(tmp_path)
    for h in HOSTS:
        f.prepare(h, "1.0.0")
        f.switch(h, "run-1")
    yield f
    for rt in f.rts.values():
        rt.supervisor.shutdown()


def test_the_failure_branch_rolls_back_every_host_this_run_switched(fleet):
    f = fleet
    for h in HOSTS:
        f.prepare(h, "2.0.0", at_start=CRASHES if h == "h3" else "")
    f.switch("h1", "run-2")  # the canary
    f.switch("h2", "run-2")  # the rest, batch 1
    with pytest.raises(BrickFailed, match="rolled_back: true"):
        f.switch("h3", "run-2", max_restarts=0)  # batch 2 fails; max_failures 0: h4 is skipped
    assert [f.version(h) for h in HOSTS] == ["2.0.0", "2.0.0", "1.0.0", "1.0.0"]
    pid_h4 = f.rts["h4"].supervisor.status("web").pid

    outs = {h: f.rollback(h, "run-2", only_this_run=True) for h in HOSTS}
    assert [f.version(h) for h in HOSTS] == ["1.0.0"] * 4
    assert {h: (o.rolled_back, o.changed) for h, o in outs.items()} == {
        "h1": (True, True), "h2": (True, True), "h3": (True, False), "h4": (False, False)}
    assert [o.rolled_back_host for o in outs.values()] == ["h1", "h2", "h3", None]
    assert outs["h4"].pid == pid_h4 == f.rts["h4"].supervisor.status("web").pid  # not restarted
    assert outs["h4"].summary == "h4: web was not switched by this run: left alone on release 1.0.0"
    assert outs["h2"].summary == "h2: web rolled back from 2.0.0 to 1.0.0 (data: keep_new)"
    assert outs["h3"].summary.startswith("h3: web had rolled itself back from 2.0.0 to 1.0.0 after a failed")

    # The e-mail body as examples/canary-update.json renders it over the fan-out's lists.
    template = "Rolled back on {{ hosts | join(', ') }}:\n{% for line in lines %}{{ line }}\n{% endfor %}"
    text = brick("rollout.report")(Context(), template=template,
                                   hosts=[o.rolled_back_host for o in outs.values()],
                                   lines=[o.summary for o in outs.values()]).text
    assert text.startswith("Rolled back on h1, h2, h3:\nh1: web rolled back from 2.0.0 to 1.0.0")
    assert "h4: web was not switched by this run: left alone" in text

    again = f.rollback("h1", "run-2", only_this_run=True)
    assert again.rolled_back and not again.changed and f.version("h1") == "1.0.0"


def test_without_only_this_run_a_rollback_goes_back_whatever_run_switched(fleet):
    f = fleet
    f.prepare("h1", "2.0.0")
    f.switch("h1", "run-2")
    left = f.rollback("h1", "run-3", only_this_run=True)
    assert not left.rolled_back and f.version("h1") == "2.0.0"
    by_hand = f.rollback("h1", "run-3")
    assert by_hand.rolled_back and by_hand.changed and f.version("h1") == "1.0.0"


def test_a_later_run_rolls_back_what_an_earlier_run_switched(fleet):
    """nebhx rollback --run: one run over every host, switched_by names the run to undo."""
    f = fleet
    for h in ("h1", "h2"):
        f.prepare(h, "2.0.0")
        f.switch(h, "run-2")
    outs = {h: f.rollback(h, "run-9", switched_by="run-2") for h in HOSTS}
    assert {h: o.rolled_back for h, o in outs.items()} == {"h1": True, "h2": True, "h3": False, "h4": False}
    assert [f.version(h) for h in HOSTS] == ["1.0.0"] * 4
    assert outs["h3"].summary == "h3: web was not switched by run run-2: left alone on release 1.0.0"


def test_plan_says_it_depends_on_this_run(fleet):
    plan = brick("rollout.rollback").plan(fleet.ctx("h4", "plan"), dict(host="h4", service="web",
                                                                        only_this_run=True))
    # Whether it changes anything depends on what the run switches first: cannot tell.
    assert plan == {"effect": "roll back web on h4 if this run switched it; else leave it alone",
                    "changes": None}
