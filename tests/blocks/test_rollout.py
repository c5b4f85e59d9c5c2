"""rollout.* bricks on the real thing: supervisord, HAProxy, the example app on loopback
ports, dir volumes and a btrfs loop mount. Bricks run as plain objects on a HostRuntime."""
from __future__ import annotations

import http.client
import json
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
    out = h.switch("a", None)  # no release given: what prepare left on the host
    assert (out.release_id, out.config_version) == (v2, c2) and get(h.ports["a"])["version"] == "2.0.0"


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


# -- data back from the snapshot (btrfs) ----------------------------------------------------
@pytest.fixture
def btrfs(tmp_path, monkeypatch):
    """A 300 MB btrfs on a loop device, listed in NEBHX_HOST_MANAGED_PATHS."""
    from nebhx.settings import reset_settings
    img, mnt = tmp_path / "img", tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["truncate", "-s", "300M", str(img)], check=True)
    dev = subprocess.run(["losetup", "-f", "--show", str(img)], capture_output=True, text=True,
                         check=True).stdout.strip()
    try:
        subprocess.run(["mkfs.btrfs", "-q", dev], check=True, capture_output=True)
        subprocess.run(["mount", dev, str(mnt)], check=True)
        monkeypatch.setenv("NEBHX_HOST_MANAGED_PATHS", str(mnt))
        reset_settings()
        yield mnt
    finally:
        reset_settings()
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def test_rollback_restore_snapshot_brings_the_data_back(btrfs, host):
    h = host
    vol = h.rt.volumes.create("web-a-pg", "btrfs", btrfs_root=btrfs)
    url = vol.url("h1")
    (vol.path / "message.txt").write_text("v1 data\n")
    v1, c1 = h.prepare("1.0.0")
    h.switch("a", v1, c1, volume=url, lb=False)
    h.balance()
    v2, c2 = h.prepare("2.0.0", at_start=WRITES_ROWS)
    sw = h.switch("a", v2, c2, volume=url, keep_one_serving=False)  # only a serves
    assert (vol.path / "rows.txt").exists() and sw.snapshot
    assert "snapshot" in [s["step"] for s in sw.steps]
    out = h.rollback("a", data_policy="restore_snapshot", keep_one_serving=False)
    assert out.restored_snapshot == sw.snapshot and out.pre_restore.startswith("pre-restore-")
    assert not (vol.path / "rows.txt").exists() and (vol.path / "message.txt").read_text() == "v1 data\n"
    assert [s["step"] for s in out.steps] == ["drain", "stop", "restore", "switch", "restart",
                                              "ready", "enable"]
    body = get(h.ports["a"])
    assert (body["version"], body["message"]) == ("1.0.0", "v1 data")
    kept = h.rt.volumes.get_snapshot(url, out.pre_restore).path
    assert (kept / "rows.txt").read_text() == "row written by 2.0.0\n"  # the new data, kept aside
    (vol.path / "after.txt").write_text("written after the rollback\n")
    again = h.rollback("a", data_policy="restore_snapshot", keep_one_serving=False)
    assert not again.changed and (vol.path / "after.txt").exists()  # never restored twice
    h.rt.supervisor.stop("web-a")  # before the mount goes away


# -- an agent killed in the middle of its switch ------------------------------------------
DRIVER = r"""
import json, os, sys
from pathlib import Path
from nebhx import Context
from nebhx.bricks.registry import load_registry
from nebhx.runtime import HostRuntime

args = json.loads(sys.argv[1])

class Killed(Context):
    seen = 0
    def log(self, message, *a):
        super().log(message, *a)
        if (message % a if a else message).startswith(args["kill_at"]):
            Killed.seen += 1
            if Killed.seen == args["nth"]:
                os.kill(os.getpid(), 9)

rt = HostRuntime("h1", Path(args["home"]))
rt.address = "127.0.0.1"
brick = load_registry([Path(args["blocks"])]).get("rollout.switch")()
brick(Killed(runtime=rt, host="h1"), **args["inputs"])
print("not killed")
"""


def killed_switch(h: Host, inst: str, kill_at: str, nth: int = 1, **inputs) -> None:
    h.rt.volumes.create(f"web-{inst}-data")
    full = dict(host="h1", service="web", instance=inst, command=CMD, port=h.ports[inst],
                volume=f"web-{inst}-data", ready_http="/health", ready_timeout_s=15,
                lb_name="web", drain_timeout_s=5, **inputs)
    arg = json.dumps({"home": str(h.rt.home), "blocks": str(ROOT / "blocks"), "kill_at": kill_at,
                      "nth": nth, "inputs": full})
    proc = subprocess.run([sys.executable, "-c", DRIVER, arg], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == -9, (kill_at, proc.returncode, proc.stdout, proc.stderr[-2000:])


def assert_whole(h: Host, inst: str, releases: tuple[str, ...]) -> None:
    """Right after the kill: `current` names a whole release, the program one of the two."""
    current = h.rt.releases.current("web")
    assert current in releases and (h.rt.releases.path("web", current) / "webapp.py").is_file()
    status = h.rt.supervisor.status(f"web-{inst}")
    assert status is not None


STEPS = ("drain", "snapshot", "switch", "restart", "ready", "checks", "enable")


def test_killed_at_each_step_a_rerun_completes(serving):
    h = serving
    v2, c2 = h.prepare("2.0.0", greeting="hello v2")
    points = [f"step {s}: begins" for s in STEPS] + ["step switch: done", "step restart: done"]
    target, other = (v2, c2), (h.v1, h.c1)
    with Load(h.lb_port) as load:
        for point in points:
            killed_switch(h, "a", point, release_id=target[0], config_version=target[1])
            assert_whole(h, "a", (h.v1, v2))
            out = h.switch("a", *target)  # the re-run completes the switch
            assert out.release_id == target[0] and get(h.ports["a"])["version"] == target[0]
            assert h.backend("a")["admin"] == "ready" and h.rt.releases.current("web") == target[0]
            assert json.loads((h.rt.home / "services/web/rollout/a.json").read_text())["phase"] == "switched"
            target, other = other, target
    # The balancer kept serving from b, and from a whenever a was not drained.
    assert not load.errors, load.errors[:5]


def test_killed_while_rolling_back_a_rerun_finishes_the_rollback(serving):
    h = serving
    bad, c2 = h.prepare("2.0.0", at_start=CRASHES)
    killed_switch(h, "a", "step switch: begins", nth=2, release_id=bad, config_version=c2,
                  max_restarts=0)  # the 2nd switch step is the rollback's
    assert_whole(h, "a", (h.v1, bad))
    # Killed inside its rollback, the re-run finishes that rollback; on a loaded machine the
    # kill may land just before it began, and the re-run rolls back itself. Either way the
    # host must end on the whole old release, serving and enabled (asserted below).
    with pytest.raises(BrickFailed, match=r"(?s)readiness: .*(interrupted rollback to release 1\.0\.0 "
                                          r"is finished|rolled back to release 1\.0\.0).*\(rolled_back: true\)"):
        h.switch("a", bad, c2, max_restarts=0)
    assert get(h.ports["a"])["version"] == "1.0.0" and h.versions() == {"1.0.0"}
    assert h.backend("a")["admin"] == "ready" and h.rt.releases.current("web") == h.v1
