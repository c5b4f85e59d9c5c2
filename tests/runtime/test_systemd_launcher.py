"""The systemd launcher against a real systemd running as PID 1 (issue 20, item 2): a Debian
tree booted with systemd-nspawn (tests/systemd_box.py), driven with systemctl through
nsenter. Units are started, restarted by their policy and by a failing liveness timer,
limited by MemoryMax/CPUQuota, switched and rolled back byte for byte, and the program gets
exactly its declared user and environment."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from nebhx import BrickFailed
from nebhx.runtime import HostRuntime, leftovers
from nebhx.runtime.systemd import Systemd
from nebhx.settings import get_settings
from systemd_box import booted

# The first boot on a machine builds the Debian tree (debootstrap, about 4 minutes here):
# longer than the suite's 300 s per test, which the first test's setup would otherwise hit.
pytestmark = pytest.mark.timeout(1200)

DUMP = """import json, os, sys, time
out = sys.argv[1]
json.dump({"env": dict(os.environ), "uid": os.getuid(), "argv": sys.argv[2:],
           "home_listing": sorted(os.listdir(sys.argv[3])) if len(sys.argv) > 3 else None},
          open(out + ".tmp", "w"))
os.replace(out + ".tmp", out)
time.sleep(600)
"""


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    yield from booted(tmp_path_factory)


@pytest.fixture
def sd(box, request):
    prefix = f"nbx-t{abs(hash(request.node.name)) % 10**6}-"
    manager = Systemd(box.home / "systemd", unit_dir=box.root / "etc/systemd/system",
                      systemctl=box.systemctl, prefix=prefix)
    manager.hidden = lambda: [str(box.home)]  # the host home as a real agent hides it
    yield manager
    for unit in (box.root / "etc/systemd/system").glob(f"{prefix}*.service"):
        if not unit.name.startswith(f"{prefix}_live-"):
            manager.remove(unit.name[len(prefix):-len(".service")])


def wait_for(what, timeout=20.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def release(box, name="rel") -> Path:
    folder = box.home / name
    folder.mkdir(exist_ok=True)
    (folder / "dump.py").write_text(DUMP)
    (box.home / "data").mkdir(exist_ok=True)
    return folder


def dumped(path: Path, after: float = 0) -> dict:
    def read():
        try:
            return path.stat().st_mtime >= after and json.loads(path.read_text())
        except (OSError, ValueError):
            return None
    data = wait_for(read)
    assert data, f"the program never wrote {path}"
    return data


def running(sd, name, not_pid=None):
    st = wait_for(lambda: (s := sd.status(name)) and s.state == "RUNNING" and s.pid != not_pid and s)
    assert st, f"{name} is {sd.status(name)}"
    return st


def test_user_and_environment_exactly_as_declared(box, sd):
    rel, data = release(box), box.home / "data"
    (box.home / "secret.token").write_text("agent's")
    env = {"GREETING": "50% off, $USER's \"day\" `id` \\n", "EMPTY": "", "DSN": "postgresql://u:p@db/x?a=1&b=2"}
    out = data / "dump.json"
    assert sd.ensure_program("app", f"/usr/bin/python3 {rel}/dump.py {out} x%y {box.home}", cwd=str(rel),
                             env=env, user="daemon", read=[str(rel)], write=[str(data)], start_secs=0)
    running(sd, "app")
    got = dumped(out)
    assert got["uid"] == 1 and got["argv"] == ["x%y", str(box.home)]
    assert got["env"] == {**env, "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                          "LANG": "C.UTF-8", "HOME": str(data), "USER": "daemon", "LOGNAME": "daemon"}
    # Of the host's home it sees only what it needs: not the agent's token beside them.
    assert got["home_listing"] == sorted(["rel", "data"])
    # No local user reads the environment through systemd: it is not in the unit.
    shown = box.run("systemctl", "show", "-p", "Environment", sd.unit("app")).stdout
    assert "GREETING" not in shown and "postgresql" not in shown
    assert oct(sd.env_file("app").stat().st_mode & 0o777) == "0o600"


def test_restart_policy_and_stop(box, sd):
    rel = release(box)
    cmd = f"/usr/bin/python3 {rel}/dump.py {box.home}/data/r.json"
    sd.ensure_program("keep", cmd, start_secs=0)
    sd.ensure_program("once", cmd + "2", autorestart=False, start_secs=0)
    first, once = running(sd, "keep"), running(sd, "once")
    box.run("/bin/sh", "-c", f"kill -KILL {first.pid} {once.pid}")  # pids as the container sees them
    assert running(sd, "keep", not_pid=first.pid).pid != first.pid  # Restart=always
    assert wait_for(lambda: sd.status("once").state in ("EXITED", "FATAL")), sd.status("once")
    assert sd.stop("keep").state == "STOPPED" and sd.status("keep").pid is None
    sd.start("keep")
    assert running(sd, "keep") and sd.remove("keep") and sd.status("keep") is None


def test_memory_and_cpu_limits_hold(box, sd):
    hog = ("/usr/bin/python3 -c \"import time; b=[]; "
           "[b.append(bytearray(8 << 20)) or time.sleep(0.01) for _ in range(64)]; time.sleep(600)\"")
    sd.ensure_program("hog", hog, memory_max="64M", autorestart=False, start_secs=0)
    assert "MemoryMax=67108864" in box.run("systemctl", "show", "-p", "MemoryMax", sd.unit("hog")).stdout
    # 512 MB wanted, 64 MB allowed: the kernel's OOM killer ends it with KILL (systemd names it
    # oom-kill on cgroup v2; on this host's v1 memory controller it sees the signal only).
    st = wait_for(lambda: (s := sd.status("hog")) and s.state in ("EXITED", "FATAL") and s)
    assert st and st.exit_status == 9 and ("oom-kill" in st.description or "signal" in st.description), st
    # 20% of a CPU: a busy loop of 2 s wall time gets about 0.4 s of CPU.
    out = box.home / "data" / "cpu.txt"
    out.parent.mkdir(exist_ok=True)
    (box.home / "busy.py").write_text("import sys, time\ns = time.time()\nwhile time.time() - s < 2:\n    pass\n"
                                      "open(sys.argv[1], 'w').write(str(time.process_time()))\n")
    sd.ensure_program("busy", f"/usr/bin/python3 {box.home}/busy.py {out}", cpu_quota=20, autorestart=False,
                      start_secs=0)
    cpu = wait_for(lambda: out.exists() and out.read_text() and float(out.read_text()), timeout=10)
    assert cpu and cpu < 0.8, f"{cpu} s of CPU in 2 s under CPUQuota=20%"


def test_a_failing_liveness_timer_restarts_the_program(box, sd):
    rel = release(box)
    flag, runs = box.home / "data" / "healthy", box.home / "data" / "checks"
    flag.write_text("ok")
    (box.home / "check.sh").write_text(f"echo run >> {runs}\ntest -e {flag}\n")
    sd.ensure_program("live", f"/usr/bin/python3 {rel}/dump.py {box.home}/data/l.json", start_secs=0,
                      live_command=f"/bin/sh {box.home}/check.sh", live_interval_s=1)
    first = running(sd, "live")
    assert wait_for(lambda: runs.exists() and len(runs.read_text().split()) >= 2)  # two checks passed
    assert sd.status("live").pid == first.pid  # so nothing restarted
    flag.unlink()
    assert running(sd, "live", not_pid=first.pid).pid != first.pid
    box.run("systemctl", "is-active", sd.live("live", "timer"))


def test_switch_then_rollback_puts_the_old_unit_back_byte_for_byte(box, sd):
    old_rel, new_rel = release(box, "v1"), release(box, "v2")
    out = box.home / "data" / "s.json"
    assert sd.ensure_program("web", f"/usr/bin/python3 {old_rel}/dump.py {out} v1", env={"V": "1"}, start_secs=0)
    old = running(sd, "web")
    recorded = sd.program_text("web")
    assert not sd.ensure_program("web", f"/usr/bin/python3 {old_rel}/dump.py {out} v1", env={"V": "1"},
                                 start_secs=0)  # unchanged: left running
    assert sd.status("web").pid == old.pid
    t = time.time()
    assert sd.ensure_program("web", f"/usr/bin/python3 {new_rel}/dump.py {out} v2", env={"V": "2"}, start_secs=0)
    new = running(sd, "web", not_pid=old.pid)
    assert dumped(out, t)["argv"][0] == "v2"
    t = time.time()
    assert sd.install_program_text("web", recorded)
    running(sd, "web", not_pid=new.pid)
    assert sd.program_text("web") == recorded
    assert dumped(out, t)["env"]["V"] == "1" and dumped(out, t)["argv"][0] == "v1"


def test_a_breakout_value_writes_nothing(box, sd):
    with pytest.raises(BrickFailed, match="env A"):
        sd.ensure_program("bad", "/bin/sleep 60", env={"A": "x\nExecStartPre=/bin/id"})
    assert sd.program_text("bad") is None and sd.status("bad") is None


def test_settings_name_the_systemd_and_nebhx_down_stops_its_units(box, monkeypatch):
    """NEBHX_SYSTEMCTL / NEBHX_SYSTEMD_UNIT_DIR pick the systemd a host's runtime drives; the
    leftovers `nebhx down` reports and stops include its units (stopped, not removed)."""
    monkeypatch.setenv("NEBHX_SYSTEMCTL", " ".join(box.systemctl))
    monkeypatch.setenv("NEBHX_SYSTEMD_UNIT_DIR", str(box.root / "etc/systemd/system"))
    monkeypatch.delenv("NEBHX_HOST_HOME", raising=False)
    get_settings.cache_clear()
    home = box.home / "nebhx-home"
    rt = HostRuntime("d1", home / "hosts" / "d1")
    try:
        rel = release(box)
        assert rt.launcher("systemd") is rt.systemd and rt.systemd.prefix == "nbx-d1-"
        rt.systemd.ensure_program("web", f"/usr/bin/python3 {rel}/dump.py {box.home}/data/d.json", start_secs=0)
        running(rt.systemd, "web")
        assert leftovers.running(home) == ["systemd units of d1: nbx-d1-web.service (running)"]
        assert leftovers.stop_all(home) and rt.systemd.status("web").state == "STOPPED"
        assert leftovers.running(home) == [] and rt.systemd.program_text("web") is not None
    finally:
        rt.systemd.remove("web")
        get_settings.cache_clear()
