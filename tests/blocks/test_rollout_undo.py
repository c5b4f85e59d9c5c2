"""A rollback undoes exactly what this run did (issue 17, item 1), on a real supervisord and the
example app: a live instance started by service.run with its own environment, advertised
address and probe; a switch that fails before changing anything; a rollback that puts the
program back byte for byte; a default instance name that never creates a program."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from nebhx import BrickFailed, Context
from nebhx.runtime import HostRuntime
from nebhx.runtime.services import instance_file
from nebhx.runtime.supervisor import pid_alive
from support import free_port
from test_rollout import CMD, CRASHES, app, brick, get, profiles

ENV = {"motd": "hello", "tier": "gold"}


class Live:
    """Host h1 (its own address is not loopback), service web instance ``inst`` run by
    service.run on 127.0.0.1 with ENV: what an operator has in production."""

    def __init__(self, tmp: Path, inst: str):
        self.tmp, self.inst = tmp, inst
        self.rt = HostRuntime("h1", tmp / "h1")
        self.rt.address = "192.0.2.77"  # the host's other address: must not leak into the record
        self.port = free_port()
        self.program = f"web-{inst}" if inst else "web"

    def ctx(self, run: str = "run-2") -> Context:
        return Context(run_id=run, node_id="n", runtime=self.rt, host="h1")

    def prepare(self, version: str, at_start: str = "") -> tuple[str, str]:
        out = brick("rollout.prepare")(self.ctx("prep"), host="h1", service="web", release_id=version,
                                       source=app(self.tmp, version, at_start), profiles=profiles(),
                                       profile="web")
        return out.release_id, out.config_version

    def start_v1(self) -> None:
        v1, c1 = self.prepare("1.0.0")
        self.rt.releases.switch("web", v1)
        data = self.rt.volumes.create("web-data").path
        brick("service.run")(self.ctx("run-1"), host="h1", service="web", instance=self.inst,
                             command=CMD, port=self.port, env=ENV, advertise_host="127.0.0.1",
                             config_path=str(self.rt.home / "services/web/configs" / c1),
                             data_path=str(data), ready_http="/health")

    def program_text(self, name: str | None = None) -> str | None:
        path = self.rt.supervisor.program_file(name or self.program)
        return path.read_text() if path.exists() else None

    def record(self) -> dict:
        return json.loads(instance_file(self.rt.home, "web", self.inst).read_text())

    def seen(self) -> tuple:
        """What an operator would notice: program definition, record, pid, release served."""
        rec = {k: v for k, v in self.record().items() if k != "started_at"}
        return (self.program_text(), rec, self.rt.supervisor.status(self.program).pid,
                get(self.port)["version"])

    def switch(self, run: str = "run-2", **kw):
        inputs = dict(host="h1", service="web", instance=self.inst, command=CMD)
        return brick("rollout.switch")(self.ctx(run), **{**inputs, **kw})

    def rollback(self, run: str = "run-2", **kw):
        return brick("rollout.rollback")(self.ctx(run), host="h1", service="web",
                                         **{"instance": self.inst, **kw})


@pytest.fixture
def live(tmp_path):
    hosts = []

    def make(inst: str = "a") -> Live:
        h = Live(tmp_path, inst)
        h.start_v1()
        hosts.append(h)
        return h
    yield make
    for h in hosts:
        pid = h.rt.supervisor.daemon_pid()
        h.rt.supervisor.shutdown()
        assert not pid_alive(pid)


def test_a_switch_that_fails_its_inputs_changes_nothing_and_the_rollback_leaves_it_alone(live):
    h = live("a")
    h.prepare("2.0.0")
    before = h.seen()
    # Left on its defaults (no port, no probe, no volume): data_policy snapshot cannot work.
    with pytest.raises(BrickFailed, match=r"data_policy 'snapshot' needs the data volume") as err:
        h.switch(command=f"{sys.executable} {{release}}/webapp.py --port {h.port} --config {{config}}/app.json")
    assert "nothing was changed" in str(err.value) and "web-a still runs release 1.0.0" in str(err.value)
    assert not (h.rt.home / "services/web/rollout/a.json").exists()  # nothing to resume or undo
    out = h.rollback(only_this_run=True, data_policy="keep_new")
    assert not out.rolled_back and not out.changed and out.rolled_back_host is None
    assert "was not switched by this run" in out.summary
    assert h.seen() == before
    assert h.record()["address"] == f"127.0.0.1:{h.port}" and h.record()["probe"]["kind"] == "http"


def test_a_default_instance_never_creates_a_program_that_never_existed(live):
    h = live("a")
    h.prepare("2.0.0")
    before = h.seen()
    with pytest.raises(BrickFailed) as err:  # instance left at '' while the live one is 'a'
        h.switch(instance="", port=h.port, volume="web-data", ready_http="/health")
    assert "instance 'a'" in str(err.value) and "nothing was changed" in str(err.value)
    out = h.rollback(instance="", only_this_run=True)
    assert not out.rolled_back and not out.changed
    with pytest.raises(BrickFailed, match="no rollout of web is recorded"):
        h.rollback(instance="")  # by hand: nothing recorded, nothing created
    assert h.program_text("web") is None and h.rt.supervisor.status("web") is None
    assert h.seen() == before


def test_a_rollback_restores_the_previous_program_byte_for_byte(live):
    h = live("a")
    before = h.seen()
    v2, c2 = h.prepare("2.0.0")
    # The switch's own spec differs (no env, the host's address): it must not outlive the rollback.
    sw = h.switch(port=h.port, volume="web-data", ready_http="/health", env={"tier": "new"})
    assert sw.changed and get(h.port)["version"] == "2.0.0"
    out = h.rollback(only_this_run=True)
    assert out.rolled_back and out.changed and get(h.port)["version"] == "1.0.0"
    after = h.seen()
    assert after[0] == before[0]  # the program section, environment included
    assert after[1] | {"pid": None} == before[1] | {"pid": None}  # address, port, probe, config
    assert 'environment=motd="hello",tier="gold"' in after[0]
    assert out.summary == "h1: web-a rolled back from 2.0.0 to 1.0.0 (data: keep_new)"
    again = h.rollback(only_this_run=True)  # e.g. a retried rollback node: truthful, no "by itself"
    assert not again.changed and again.rolled_back
    assert again.summary == "h1: web-a was already back on 1.0.0 from 2.0.0 (data: keep_new)"


def test_a_failed_readiness_puts_the_previous_program_back_byte_for_byte(live):
    h = live("a")
    before = h.seen()
    bad, c2 = h.prepare("2.0.0", at_start=CRASHES)
    with pytest.raises(BrickFailed, match="rolled_back: true"):
        h.switch(port=h.port, volume="web-data", ready_http="/health", max_restarts=0)
    after = h.seen()
    assert after[0] == before[0] and after[3] == "1.0.0"
    assert after[1] | {"pid": None} == before[1] | {"pid": None}


def test_only_this_run_needs_a_completed_change_not_the_run_id_alone(live):
    """A journal of this run whose switch stopped before it moved anything (a crash between
    writing the journal and the first change) is not a switch this run did."""
    h = live("a")
    before = h.seen()
    v2, c2 = h.prepare("2.0.0")
    inst = h.rt.service_instance("web", "a")
    inst.save({"service": "web", "instance": "a", "program": "web-a", "phase": "switching",
               "from": {"release": "1.0.0"}, "to": {"release": v2, "config": c2}, "run": "run-2",
               "spec": {"command": CMD, "port": None, "env": {}}, "on": {"release": "1.0.0"}})
    out = h.rollback(only_this_run=True)
    assert not out.rolled_back and not out.changed
    assert h.seen() == before


def test_a_new_instance_rolled_back_is_removed_not_left_running(live, tmp_path):
    h = live("a")
    port = free_port()
    h.rt.volumes.create("web-b-data")
    v2, c2 = h.prepare("2.0.0")
    sw = brick("rollout.switch")(h.ctx(), host="h1", service="web", instance="b", command=CMD,
                                 port=port, volume="web-b-data", ready_http="/health")
    assert sw.changed and get(port)["version"] == "2.0.0"
    assert sw.summary.endswith(f"started pid {sw.pid} (none ran before)") and "None" not in sw.summary
    out = h.rollback(instance="b", only_this_run=True)
    assert out.rolled_back and h.rt.supervisor.status("web-b") is None
    assert h.program_text("web-b") is None and "did not run before" in out.summary
    assert get(h.port)["version"] == "1.0.0"  # instance a serves the previous release again



def test_a_switch_takes_the_running_spec_by_reference(live):
    """Only the service and release given: command, port, environment, readiness and data come
    from what service.run recorded; an input set on the node overrides its part only."""
    h = live("a")
    _text, rec_before, _pid, _v = h.seen()
    v2, _c2 = h.prepare("2.0.0")
    out = brick("rollout.switch")(h.ctx(), host="h1", service="web", instance="a", data_policy="keep")
    assert out.changed and get(h.port)["version"] == "2.0.0"
    text = h.program_text()
    assert 'environment=motd="hello",tier="gold"' in text and f"--port {h.port}" in text
    assert "/releases/2.0.0/webapp.py" in text and str(h.rt.home / "volumes" / "web-data") in text
    rec = h.record()
    assert (rec["address"], rec["port"], rec["probe"]) == (rec_before["address"], h.port, rec_before["probe"])
    v3, _c3 = h.prepare("3.0.0")
    out = brick("rollout.switch")(h.ctx(), host="h1", service="web", instance="a", data_policy="keep",
                                  env={"motd": "bye"})
    assert 'environment=motd="bye"\n' in h.program_text() and f"--port {h.port}" in h.program_text()
    with pytest.raises(BrickFailed, match=r"no command given, and none is recorded for web \(instance 'c'\)"):
        brick("rollout.switch")(h.ctx(), host="h1", service="web", instance="c", data_policy="keep")
