"""rollout.* bricks on the real thing: supervisord, HAProxy, the example app on loopback
ports, dir volumes and a btrfs loop mount. Bricks run as plain objects on a HostRuntime."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nebhx import BrickFailed, Context
from nebhx.bricks.registry import load_registry
from nebhx.runtime import HostRuntime
from nebhx.runtime.haproxy import HAProxy
from nebhx.runtime.supervisor import pid_alive
from support import free_port

ROOT = Path(__file__).resolve().parents[2]
PALETTE = load_registry([ROOT / "blocks"])
IDS = ("rollout.prepare", "rollout.switch", "rollout.commit", "rollout.rollback")
CMD = f"{sys.executable} {{release}}/webapp.py --port {{port}} --config {{config}}/app.json --data {{data}}"
TEMPLATE = '{"greeting": {{ greeting | tojson }}}\n'
HOOK = "    args = ap.parse_args(argv)\n"


def profiles(greeting: str = "hello", unused: str = "x") -> dict:
    return {"web": {"values": {"greeting": greeting, "unused": unused},
                    "templates": {"app.json": TEMPLATE}}}


def brick(brick_id: str):
    return PALETTE.get(brick_id)()


def app(tmp: Path, version: str, at_start: str = "") -> str:
    """The example app as release ``version``; ``at_start`` runs after argument parsing."""
    folder = tmp / f"src-{version}"
    shutil.copytree(ROOT / "examples" / "app", folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "VERSION").write_text(version + "\n")
    text = (folder / "webapp.py").read_text()
    (folder / "webapp.py").write_text(text.replace(HOOK, HOOK + at_start))
    return str(folder)


WRITES_ROWS = '    (args.data / "rows.txt").open("a").write("row written by 2.0.0\\n")\n'
CRASHES = '    raise SystemExit("2.0.0 cannot start: schema mismatch")\n'


def get(port: int, path: str = "/") -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        assert resp.status == 200, resp.status
        return json.loads(resp.read())
    finally:
        conn.close()


class Host:
    """One host (a HostRuntime) with instances a and b of service web, and a balancer."""

    def __init__(self, rt: HostRuntime, tmp: Path):
        self.rt, self.tmp = rt, tmp
        self.ports = {"a": free_port(), "b": free_port()}
        self.lb_port = None

    def ctx(self) -> Context:
        return Context(runtime=self.rt, host="h1")

    def prepare(self, version: str, at_start: str = "", **cfg) -> tuple[str, str]:
        out = brick("rollout.prepare")(self.ctx(), host="h1", service="web", release_id=version,
                                       source=app(self.tmp, version, at_start) if not
                                       (self.tmp / f"src-{version}").exists() else
                                       str(self.tmp / f"src-{version}"),
                                       profiles=profiles(**cfg), profile="web")
        return out.release_id, out.config_version

    def switch(self, inst: str, release: str, config: str | None = None, lb: bool = True, **kw):
        self.rt.volumes.create(f"web-{inst}-data")
        inputs = dict(host="h1", service="web", instance=inst, release_id=release,
                      config_version=config, command=CMD, port=self.ports[inst],
                      volume=f"web-{inst}-data", ready_http="/health", ready_timeout_s=15,
                      lb_name="web" if lb and self.lb_port else None, drain_timeout_s=5)
        return brick("rollout.switch")(self.ctx(), **{**inputs, **kw})

    def rollback(self, inst: str, **kw):
        return brick("rollout.rollback")(self.ctx(), host="h1", service="web", instance=inst,
                                         lb_name="web", **kw)

    def balance(self) -> None:
        self.lb_port = free_port()
        brick("lb.haproxy")(self.ctx(), host="h1", name="web", bind_port=self.lb_port,
                            backends=[f"127.0.0.1:{p}" for p in self.ports.values()],
                            health_path="/health")

    def versions(self, n: int = 6) -> set[str]:
        return {get(self.lb_port)["version"] for _ in range(n)}

    def backend(self, inst: str) -> dict:
        return HAProxy(self.rt.home / "haproxy" / "web").server(f"127.0.0.1:{self.ports[inst]}")


@pytest.fixture
def host(tmp_path):
    rt = HostRuntime("h1", tmp_path / "h1")
    rt.address = "127.0.0.1"  # loopback only: the advertised address of every backend
    h = Host(rt, tmp_path)
    yield h
    for lb_dir in (rt.home / "haproxy").glob("*"):
        HAProxy(lb_dir).stop()
    pid = rt.supervisor.daemon_pid()
    rt.supervisor.shutdown()
    assert not pid_alive(pid)


@pytest.fixture
def serving(host):
    """v1 on instances a and b behind HAProxy."""
    v1, c1 = host.prepare("1.0.0")
    for inst in ("a", "b"):
        host.switch(inst, v1, c1)
        (host.rt.home / "volumes" / f"web-{inst}-data" / "message.txt").write_text("v1 data\n")
    host.balance()
    assert host.versions() == {"1.0.0"}
    host.v1, host.c1 = v1, c1
    return host


class Load:
    """Threads hitting the balancer with fresh connections until stopped (20 s at most)."""

    def __init__(self, port: int, threads: int = 3):
        self.port, self.ok, self.errors, self.seen = port, 0, [], set()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.loop) for _ in range(threads)]

    def loop(self) -> None:
        deadline = time.monotonic() + 20
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                self.seen.add(get(self.port)["version"])
                self.ok += 1
            except Exception as exc:  # every failure counts, whatever its kind
                self.errors.append(repr(exc))

    def __enter__(self):
        for t in self.threads:
            t.start()
        time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        time.sleep(0.3)
        self.stop.set()
        for t in self.threads:
            t.join(30)


def test_palette_entries():
    assert not [e for e in PALETTE.errors if "/rollout/" in e.source]
    for bid in IDS:
        spec = PALETTE.specs[bid]
        assert spec["category"] == "rollout" and spec["host_input"] == "host"
        assert len(spec["docs"]) > 300, bid
        assert PALETTE.get(bid).plans()


def test_prepare_while_v1_serves_then_resumes(serving):
    h = serving
    pid = h.rt.supervisor.status("web-a").pid
    plan = brick("rollout.prepare").plan(h.ctx(), dict(
        host="h1", service="web", source=app(h.tmp, "2.0.0"), release_id="2.0.0",
        profiles=profiles("hello v2"), profile="web"))
    assert plan["changes"] and plan["outputs"]["staged"] and "stage release 2.0.0" in plan["effect"]
    assert not (h.rt.home / "services" / "web" / "releases" / "2.0.0").exists()  # plan touched nothing
    with Load(h.lb_port) as load:
        v2, c2 = h.prepare("2.0.0", greeting="hello v2")
    assert not load.errors and load.seen == {"1.0.0"}
    assert h.rt.supervisor.status("web-a").pid == pid and h.rt.releases.current("web") == h.v1
    again = brick("rollout.prepare")(h.ctx(), host="h1", service="web", source=str(h.tmp / "src-2.0.0"),
                                     release_id="2.0.0", profiles=profiles("hello v2"), profile="web")
    assert (again.release_id, again.config_version) == (v2, c2)
    assert not again.staged and not again.rendered and not again.changed


def test_rolling_switch_under_load_loses_no_request(serving):
    h = serving
    v2, c2 = h.prepare("2.0.0", greeting="hello v2")
    plan = brick("rollout.switch").plan(h.ctx(), dict(
        host="h1", service="web", instance="a", release_id=v2, config_version=c2, command=CMD,
        port=h.ports["a"], volume="web-a-data", ready_http="/health", lb_name="web"))
    assert plan["actions"] == ["drain", "snapshot", "switch", "restart", "ready", "checks", "enable"]
    checks = [{"kind": "http", "url": "http://127.0.0.1:{port}/", "contains": "2.0.0"}]
    with Load(h.lb_port) as load:
        outs = {i: h.switch(i, v2, c2, checks=checks) for i in ("a", "b")}
    assert not load.errors, load.errors[:5]
    assert load.ok > 50 and load.seen == {"1.0.0", "2.0.0"}
    assert h.versions() == {"2.0.0"} and get(h.lb_port)["greeting"] == "hello v2"
    out = outs["a"]
    assert [s["step"] for s in out.steps] == plan["actions"]
    assert out.previous_release == h.v1 and out.release_id == v2 and out.snapshot
    assert abs(out.switched_at - time.time()) < 60 and out.pid != out.pid_before
    assert h.backend("a")["admin"] == "ready" and h.rt.releases.current("web") == v2
    again = h.switch("a", v2, c2)
    assert not again.changed and again.pid == out.pid and again.steps == []
    print("steps of a:", out.steps, "requests:", load.ok)


def test_failed_readiness_or_check_rolls_back_by_itself(serving):
    h = serving
    bad, c2 = h.prepare("2.0.0", at_start=CRASHES)
    with pytest.raises(BrickFailed) as err:
        h.switch("a", bad, c2, max_restarts=0)
    msg = str(err.value)
    assert "host h1: readiness failed for release 2.0.0" in msg and "rolled_back: true" in msg
    assert "schema mismatch" in msg
    assert h.versions() == {"1.0.0"} and h.backend("a")["admin"] == "ready"
    assert get(h.ports["a"])["version"] == "1.0.0" and h.rt.releases.current("web") == h.v1
    check = [{"kind": "http", "name": "front page says 9.9", "url": "http://127.0.0.1:{port}/",
              "contains": "9.9", "attempts": 2, "interval_s": 0.1}]
    v3, c3 = h.prepare("3.0.0")
    with pytest.raises(BrickFailed, match=r"host h1: front page says 9.9 failed .*rolled_back: true"):
        h.switch("b", v3, c3, checks=check)
    assert h.versions() == {"1.0.0"} and h.backend("b")["admin"] == "ready"


def test_rollback_keep_new_keeps_the_rows_the_new_release_wrote(serving):
    h = serving
    v2, c2 = h.prepare("2.0.0", at_start=WRITES_ROWS)
    h.switch("a", v2, c2)
    rows = h.rt.home / "volumes" / "web-a-data" / "rows.txt"
    assert rows.read_text() == "row written by 2.0.0\n"
    out = h.rollback("a", data_policy="keep_new")
    assert out.changed and out.restored_release == h.v1 and out.restored_snapshot is None
    assert get(h.ports["a"])["version"] == "1.0.0" and rows.read_text() == "row written by 2.0.0\n"
    assert [s["step"] for s in out.steps] == ["drain", "switch", "restart", "ready", "enable"]
    again = h.rollback("a", data_policy="keep_new")
    assert not again.changed and again.pid == out.pid


def test_config_only_change_restarts_only_when_files_change(serving):
    h = serving
    _v, same_files = h.prepare("1.0.0", unused="another value")
    assert same_files != h.c1
    out = h.switch("a", h.v1, same_files)
    assert out.changed and not out.restarted and out.pid == out.pid_before
    assert out.config_version == same_files and "restart" not in [s["step"] for s in out.steps]
    _v, new_files = h.prepare("1.0.0", greeting="hello again")
    out = h.switch("a", h.v1, new_files)
    assert out.restarted and out.pid != out.pid_before
    assert get(h.ports["a"])["greeting"] == "hello again"


def test_commit_prunes_beyond_retention_but_keeps_pinned(serving):
    h = serving
    h.rt.releases.pin("web", h.v1)
    for version in ("2.0.0", "3.0.0", "4.0.0", "5.0.0"):
        rel, cfg = h.prepare(version)
        time.sleep(0.01)  # staged_at orders releases
    h.switch("a", "4.0.0", cfg)
    h.switch("a", "5.0.0", cfg)  # previous: 4.0.0
    plan = brick("rollout.commit").plan(h.ctx(), dict(host="h1", service="web", instance="a", keep=1))
    out = brick("rollout.commit")(h.ctx(), host="h1", service="web", instance="a", keep=1)
    assert out.release_id == "5.0.0" and out.changed and plan["remove"] == out.removed
    assert sorted(out.removed) == ["2.0.0", "3.0.0"]
    assert sorted(out.kept) == ["1.0.0", "4.0.0", "5.0.0"]  # pinned, previous, current
    again = brick("rollout.commit")(h.ctx(), host="h1", service="web", instance="a", keep=1)
    assert not again.changed and again.committed_at == out.committed_at
    with pytest.raises(BrickFailed, match="runs release 5.0.0, not 1.0.0"):
        brick("rollout.commit")(h.ctx(), host="h1", service="web", instance="a", release_id="1.0.0")
