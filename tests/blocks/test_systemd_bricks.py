"""service.run, rollout.switch, rollout.rollback and service.stop with `launcher: systemd`,
against a real systemd as PID 1 (a booted Debian tree, tests/systemd_box.py) and the
example app: the plan names the launcher and the unit, the service runs as its user with its
environment, a switch restarts its unit on the new release, a rollback puts the unit back
byte for byte, and the supervisord-only options are refused naming the input."""
from __future__ import annotations

import pytest

from nebhx import BrickFailed, Context
from nebhx.runtime import HostRuntime, services
from nebhx.runtime.systemd import Systemd
from support import free_port
from systemd_box import booted
from test_rollout import CRASHES, app, brick, get, profiles

# The first boot on a machine builds the Debian tree (debootstrap, about 4 minutes here):
# longer than the suite's 300 s per test, which the first test's setup would otherwise hit.
pytestmark = pytest.mark.timeout(1200)

# The container's own Python runs the app (the release and config are bound in).
CMD = "/usr/bin/python3 {release}/webapp.py --port {port} --config {config}/app.json --data {data}"


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    yield from booted(tmp_path_factory)


class Host:
    def __init__(self, box, name: str):
        self.box = box
        self.rt = HostRuntime(name, box.home / name)
        self.rt.address = "127.0.0.1"
        # This host's systemd is the container's: units in its tree, systemctl through nsenter.
        self.rt.__dict__["systemd"] = Systemd(self.rt.home / "systemd", unit_dir=box.root / "etc/systemd/system",
                                              systemctl=box.systemctl, prefix=f"nbx-{name}-")
        self.sd = self.rt.systemd
        self.port = free_port()
        self.src = box.home / f"{name}-src"
        self.src.mkdir()

    def ctx(self, run: str = "run-1") -> Context:
        return Context(run_id=run, node_id="n", runtime=self.rt, host=self.rt.name)

    def prepare(self, version: str, at_start: str = "") -> tuple[str, str]:
        out = brick("rollout.prepare")(self.ctx("prep"), host=self.rt.name, service="web", release_id=version,
                                       source=app(self.src, version, at_start),
                                       profiles=profiles(), profile="web")
        return out.release_id, out.config_version

    def run_inputs(self, config: str) -> dict:
        data = self.rt.volumes.create("web-data").path
        return dict(host=self.rt.name, service="web", command=CMD, port=self.port, user="daemon",
                    env={"motd": "50% off $today"}, advertise_host="127.0.0.1", launcher="systemd",
                    config_path=str(self.rt.home / "services/web/configs" / config), data_path=str(data),
                    ready_http="/health", memory_max="256M", cpu_quota=50)


@pytest.fixture
def host(box, request):
    h = Host(box, f"s{abs(hash(request.node.name)) % 10**5}")
    yield h
    for unit in (box.root / "etc/systemd/system").glob(f"{h.sd.prefix}*.service"):
        if not unit.name.startswith(f"{h.sd.prefix}_live-"):
            h.sd.remove(unit.name[len(h.sd.prefix):-len(".service")])


def test_run_switch_rollback_and_stop_under_systemd(host):
    v1, c1 = host.prepare("1.0.0")
    host.rt.releases.switch("web", v1)
    inputs = host.run_inputs(c1)
    run = brick("service.run")
    plan = run.plan(host.ctx(), run.Inputs(**inputs))
    assert plan["launcher"] == "systemd" and plan["unit"] == f"{host.sd.prefix}web.service"
    assert plan["changes"] and "under systemd as user daemon" in plan["effect"]
    out = run(host.ctx(), **inputs)
    assert out.changed and get(host.port)["version"] == "1.0.0"
    unit = (host.sd.unit_dir / plan["unit"]).read_text()
    assert "User=daemon" in unit and "MemoryMax=256M" in unit and "CPUQuota=50%" in unit
    assert not run.plan(host.ctx(), run.Inputs(**inputs))["changes"]  # as defined, running
    row = next(r for r in services.snapshot(host.rt, probe=False) if r["program"] == "web")
    # The services view asks systemd (STARTING until start_secs passed, as under supervisord).
    assert row["state"] in ("STARTING", "RUNNING") and row["pid"] == out.pid
    before = host.sd.program_text("web")

    v2, _ = host.prepare("2.0.0")
    switch = brick("rollout.switch")
    splan = switch.plan(host.ctx("run-2"), switch.Inputs(host=host.rt.name, service="web", release_id=v2,
                                                         data_policy="keep"))
    assert splan["launcher"] == "systemd" and splan["unit"] == plan["unit"]
    sw = switch(host.ctx("run-2"), host=host.rt.name, service="web", release_id=v2, data_policy="keep")
    assert sw.restarted and get(host.port)["version"] == "2.0.0" and sw.pid != out.pid
    # The switch kept the launcher and its limits: same unit, on the new release.
    assert "MemoryMax=256M" in (host.sd.unit_dir / plan["unit"]).read_text()
    assert f"/releases/{v2}/" in (host.sd.unit_dir / plan["unit"]).read_text()

    back = brick("rollout.rollback")(host.ctx("run-2"), host=host.rt.name, service="web")
    assert back.rolled_back and get(host.port)["version"] == "1.0.0"
    assert host.sd.program_text("web") == before  # byte for byte, environment file included

    stop = brick("service.stop")(host.ctx(), host=host.rt.name, service="web", remove=True)
    assert stop.was_running and host.sd.status("web") is None
    assert not (host.sd.unit_dir / plan["unit"]).exists() and not host.sd.env_file("web").exists()


def test_a_failing_switch_rolls_the_unit_back_by_itself(host):
    v1, c1 = host.prepare("1.0.0")
    host.rt.releases.switch("web", v1)
    brick("service.run")(host.ctx(), **host.run_inputs(c1))
    before = host.sd.program_text("web")
    v2, _ = host.prepare("2.0.0", at_start=CRASHES)
    with pytest.raises(BrickFailed) as err:
        brick("rollout.switch")(host.ctx("run-2"), host=host.rt.name, service="web", release_id=v2,
                                data_policy="keep", ready_timeout_s=8, max_restarts=0)
    assert "rolled back" in str(err.value)
    assert host.sd.program_text("web") == before and get(host.port)["version"] == "1.0.0"


def test_launcher_choices_are_checked(host):
    v1, c1 = host.prepare("1.0.0")
    host.rt.releases.switch("web", v1)
    inputs = host.run_inputs(c1)
    with pytest.raises(BrickFailed, match="^memory_max, cpu_quota: only the systemd launcher"):
        brick("service.run")(host.ctx(), **{**inputs, "launcher": "supervisord"})
    assert host.rt.supervisor.status("web") is None  # refused before anything started
    brick("service.run")(host.ctx(), **inputs)
    with pytest.raises(BrickFailed, match="^launcher: web runs under systemd"):
        brick("rollout.switch")(host.ctx("run-2"), host=host.rt.name, service="web", release_id=v1,
                                data_policy="keep", launcher="supervisord")
    with pytest.raises(BrickFailed, match="^standby_s: "):
        brick("rollout.switch")(host.ctx("run-2"), host=host.rt.name, service="web", release_id=v1,
                                data_policy="keep", standby_s=60, standby_port=free_port())
