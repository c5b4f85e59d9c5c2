"""Instant rollback (issue 17, item 5): a switch with a standby keeps the previous release's
process on its own port (slot), warm, then frozen; a rollback inside the period is a thaw and
a balancer change. On a real supervisord and HAProxy (on this host through its runtime API,
or through the agent check and stats as a balancer on another host is driven), with an app
that takes seconds to start and clients through the balancer the whole time."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from nebhx import BrickFailed
from nebhx.runtime import standby
from nebhx.runtime.haproxy import HAProxy
from nebhx.runtime.services import instance_file
from support import free_port
from test_rollout import CRASHES, WRITES_ROWS, Load, brick, get, host  # noqa: F401 - the fixture

SLOW = '    __import__("time").sleep(3)  # a slow start: what an instant rollback must not wait for\n'


class Slots:
    """Instance a of web on port P (slot 1) with standby port Q (slot 2), both servers of a
    balancer ``how``: HAProxy on this host (lb_name) or one asked through the agent check."""

    def __init__(self, h, how: str):
        self.h, self.how = h, how
        self.p, self.q = h.ports["a"], free_port()
        v1, c1 = h.prepare("1.0.0")
        h.switch("a", v1, c1, lb=False)
        h.lb_port = free_port()
        extra = {}
        if how == "agent":
            self.agent_port, stats_port = free_port(), free_port()
            extra = dict(agent_port=self.agent_port, agent_inter_ms=50, stats_port=stats_port)
        out = brick("lb.haproxy")(h.ctx(), host="h1", name="web", bind_port=h.lb_port,
                                  backends=[f"127.0.0.1:{p}" for p in (self.p, self.q)],
                                  health_path="/health", check_inter_ms=500, **extra)
        self.lb = HAProxy(h.rt.home / "haproxy" / "web")
        self.bal = (dict(lb=False, lb_stats=out.stats, lb_agent_port=self.agent_port) if how == "agent"
                    else dict(lb=True))
        self.v1_pid = h.rt.supervisor.status("web-a").pid
        self.v1_text = self.text("web-a")
        self.v1_record = self.record()

    def switch(self, release: str, config: str, **kw):
        return self.h.switch("a", release, config, standby_port=self.q, **{**self.bal, **kw})

    def rollback(self, **kw):
        bal = {"lb_name": "web"} if self.how == "local" else \
            {"lb_stats": self.bal["lb_stats"], "lb_agent_port": self.agent_port}
        return brick("rollout.rollback")(self.h.ctx(), host="h1", service="web", instance="a",
                                         **{**bal, **kw})

    def states(self) -> dict[int, str]:
        return {int(r["address"].rpartition(":")[2]): f"{r['admin']}/{r['operational']}"
                for r in self.lb.servers_state()}

    def text(self, program: str) -> str | None:
        return self.h.rt.supervisor.program_text(program)

    def record(self) -> dict:
        rec = json.loads(instance_file(self.h.rt.home, "web", "a").read_text())
        return {k: v for k, v in rec.items() if k not in ("pid", "started_at")}

    def entry(self, program: str = "web-a") -> dict | None:
        return standby.peek(self.h.rt.home / "standby", program)


def wait_for(cond, timeout: float = 15, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (got := cond()):
        assert time.monotonic() < deadline, f"{what} not within {timeout}s"
        time.sleep(0.05)
    return got


class LongLoad(Load):
    """The balancer under load for as long as the test needs (Load stops after 20 s)."""

    def loop(self) -> None:
        deadline = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                self.seen.add(get(self.port)["version"])
                self.ok += 1
            except Exception as exc:  # every failure counts, whatever its kind
                self.errors.append(repr(exc))


@pytest.fixture(params=["local", "agent"])
def slots(host, request):  # noqa: F811
    return Slots(host, request.param)


@pytest.fixture
def local(host):  # noqa: F811
    return Slots(host, "local")


def test_a_rollback_inside_the_standby_period_thaws_the_previous_process(slots):
    s, h = slots, slots.h
    v2, c2 = h.prepare("2.0.0", at_start=SLOW, greeting="hello v2")
    with LongLoad(h.lb_port) as load:
        out = s.switch(v2, c2, standby_s=120, warm_s=0.5)
        assert [r["step"] for r in out.steps] == ["hold", "snapshot", "switch", "start", "ready",
                                                  "checks", "enable", "drain", "standby"]
        assert get(s.q)["version"] == "2.0.0" and h.versions() == {"2.0.0"}
        assert out.standby["program"] == "web-a" and out.standby["port"] == s.p
        assert out.standby["release"] == "1.0.0" and out.standby["state"] == "warm"
        assert h.rt.supervisor.status("web-a").pid == s.v1_pid  # the same process, kept
        assert s.states()[s.p].startswith("maint") and s.states()[s.q] == "ready/up"
        frozen = wait_for(lambda: (e := s.entry()) and e["state"] == "frozen" and e, what="frozen")
        assert frozen["how"] in ("cgroup", "sigstop")
        back = s.rollback()
    assert not load.errors, load.errors[:5]
    assert load.seen == {"1.0.0", "2.0.0"}
    steps = [r["step"] for r in back.steps]
    assert back.instant and steps[:3] == ["thaw", "ready", "enable"] and "start" not in steps, steps
    assert back.pid == s.v1_pid and get(s.p)["version"] == "1.0.0" and h.versions() == {"1.0.0"}
    print(f"\n{s.how}: rollback decision to the old release in rotation: {back.serving_s * 1000:.0f} ms "
          f"(the new release took {out.steps[4]['seconds']:.1f} s to be ready): {back.steps}")
    assert h.rt.supervisor.status("web-a.slot2") is None  # the new slot is gone ...
    assert s.states()[s.q].startswith("maint")  # ... and held out of rotation
    assert s.text("web-a") == s.v1_text and s.record() == s.v1_record  # as it was, byte for byte
    assert s.entry() is None


def test_the_standby_is_frozen_then_stopped_and_a_later_rollback_starts_it(local):
    s = local
    h = s.h
    v2, c2 = h.prepare("2.0.0")
    out = s.switch(v2, c2, standby_s=2, warm_s=0.3)
    assert out.standby["until"] - out.standby["frozen_from"] == pytest.approx(1.7, abs=0.2)
    wait_for(lambda: (e := s.entry()) and e["state"] == "frozen", what="frozen")
    wait_for(lambda: h.rt.supervisor.status("web-a").state == "STOPPED" and
             not list((h.rt.home / "standby").glob("*.json")), what="stopped at expiry, its entry gone")
    plan = brick("rollout.rollback").plan(h.ctx(), dict(host="h1", service="web", instance="a",
                                                        lb_name="web"))
    assert plan["actions"][:2] == ["start", "ready"], plan
    with LongLoad(h.lb_port) as load:
        back = s.rollback()
    assert not load.errors, load.errors[:5]
    assert not back.instant and [r["step"] for r in back.steps][0] == "start"
    assert back.pid != s.v1_pid and get(s.p)["version"] == "1.0.0" and h.versions() == {"1.0.0"}
    assert s.text("web-a") == s.v1_text and s.record() == s.v1_record


def test_a_release_failing_its_checks_on_the_new_slot_never_serves(local):
    s = local
    h = s.h
    bad, c2 = h.prepare("2.0.0", at_start=CRASHES)
    with LongLoad(h.lb_port) as load, pytest.raises(BrickFailed, match="rolled_back: true"):
        s.switch(bad, c2, standby_s=60, max_restarts=0)
    assert not load.errors and load.seen == {"1.0.0"}
    assert h.rt.supervisor.status("web-a").pid == s.v1_pid  # never left rotation, never restarted
    assert h.rt.supervisor.status("web-a.slot2") is None and s.states()[s.p] == "ready/up"
    assert h.rt.releases.current("web") == "1.0.0" and s.record() == s.v1_record


def test_slots_take_turns_and_a_commit_stops_the_standby(local):
    """v1 -> v2 (on slot 2) -> v3 (back on slot 1: v1's standby gives its slot up, v2 is the
    standby); a rollback thaws v2 on slot 2; a commit stops the standby."""
    s = local
    h = s.h
    v2, c2 = h.prepare("2.0.0", greeting="two")
    v3, c3 = h.prepare("3.0.0", greeting="three")
    s.switch(v2, c2, standby_s=60)
    v2_pid = h.rt.supervisor.status("web-a.slot2").pid
    with LongLoad(h.lb_port) as load:
        out = s.switch(v3, c3, standby_s=60)
        assert out.standby["program"] == "web-a.slot2" and get(s.p)["version"] == "3.0.0"
        back = s.rollback()
    assert not load.errors, load.errors[:5]
    assert back.instant and back.pid == v2_pid and get(s.q)["version"] == "2.0.0"
    assert h.rt.supervisor.status("web-a") is None and h.versions() == {"2.0.0"}
    assert s.record()["program"] == "web-a.slot2" and s.record()["port"] == s.q
    out = s.switch(v3, c3, standby_s=60)
    assert out.standby["program"] == "web-a.slot2"
    brick("rollout.commit")(h.ctx(), host="h1", service="web", instance="a")
    assert h.rt.supervisor.status("web-a.slot2").state == "STOPPED" and s.entry("web-a.slot2") is None


def test_restore_snapshot_stops_the_standby_and_starts_it_on_the_restored_data(local):
    s = local
    h = s.h
    (h.rt.home / "volumes" / "web-a-data" / "message.txt").write_text("v1 data\n")
    v2, c2 = h.prepare("2.0.0", at_start=WRITES_ROWS)
    s.switch(v2, c2, standby_s=60)
    assert (h.rt.home / "volumes" / "web-a-data" / "rows.txt").exists()
    back = s.rollback(data_policy="restore_snapshot", keep_one_serving=False)
    steps = [r["step"] for r in back.steps]
    assert not back.instant and steps[:4] == ["drain", "stop", "restore", "start"], steps
    assert back.restored_snapshot and back.pid != s.v1_pid
    assert get(s.p)["message"] == "v1 data" and not (h.rt.home / "volumes" / "web-a-data" / "rows.txt").exists()


def test_plan_shows_the_slots_and_the_standby(local):
    s = local
    h = s.h
    v2, c2 = h.prepare("2.0.0")
    inputs = dict(host="h1", service="web", instance="a", release_id=v2, config_version=c2,
                  volume="web-a-data", lb_name="web", standby_s=600, warm_s=60, standby_port=s.q)
    plan = brick("rollout.switch").plan(h.ctx(), inputs)
    assert plan["actions"] == ["hold", "snapshot", "switch", "start", "ready", "checks", "enable",
                               "drain", "standby"]
    assert plan["slots"]["to"] == {"program": "web-a.slot2", "port": s.q}
    assert plan["standby"] == {"program": "web-a", "port": s.p, "warm_s": 60, "frozen_s": 540,
                               "standby_s": 600}
    s.switch(v2, c2, standby_s=600)
    plan = brick("rollout.rollback").plan(h.ctx(), dict(host="h1", service="web", instance="a",
                                                        lb_name="web"))
    assert plan["actions"] == ["thaw", "ready", "enable", "switch", "drain", "retire"]


@pytest.mark.parametrize("bad, error", [
    (dict(lb=False), "standby_s needs a balancer"),
    (dict(standby_port=None), "standby_s needs standby_port"),
    (dict(standby_port="p"), "must be two ports"),
    (dict(standby_port=1), "is not in load balancer web"),
])
def test_what_a_standby_needs_is_checked_before_any_change(local, bad, error):
    s = local
    h = s.h
    v2, c2 = h.prepare("2.0.0")
    if bad.get("standby_port") == "p":
        bad = {"standby_port": s.p}
    with pytest.raises(BrickFailed, match=error) as err:
        h.switch("a", v2, c2, standby_s=60, **{"standby_port": s.q, **bad})
    assert "nothing was changed" in str(err.value)
    assert h.rt.supervisor.status("web-a").pid == s.v1_pid and h.rt.releases.current("web") == "1.0.0"


@pytest.mark.parametrize("how", ["cgroup", "sigstop"])
def test_a_frozen_process_uses_no_cpu_until_thawed(tmp_path, how):
    if how == "cgroup" and not standby._freezer_home(1):
        pytest.fail("the cgroup v1 freezer is not writable here (NOTES.md says it is)")
    busy = subprocess.Popen(["sh", "-c", "sh -c 'while :; do :; done' & while :; do :; done"],
                            start_new_session=True)
    entry = {"program": f"busy{busy.pid}", "pid": busy.pid, "state": "warm"}
    try:
        time.sleep(0.3)
        pids = standby.group(busy.pid)
        assert len(pids) == 2
        standby.freeze(entry, how)
        assert entry["how"] == how
        before = cpu(pids)
        time.sleep(0.5)
        assert cpu(pids) == before  # frozen: not one tick
        standby.thaw(entry)
        wait_for(lambda: cpu(pids) > before, 5, "the loops running again")
        assert how != "cgroup" or not (standby.Path(entry["cgroup"])).exists()
    finally:
        standby.thaw(entry)  # a frozen cgroup would hold the kill until thawed
        os.killpg(busy.pid, signal.SIGKILL)
        busy.wait()


def cpu(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        fields = (standby.Path(f"/proc/{pid}/stat")).read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])
    return total
