"""The supervisord adapter against a real supervisord and the example web app."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from nebhx import BrickFailed
from nebhx.runtime.probes import http_probe, wait_until
from nebhx.runtime.supervisor import ProcessManager, Supervisor, pid_alive
from support import free_port

APP = Path(__file__).resolve().parents[2] / "examples" / "app" / "webapp.py"


def app_cmd(port: int) -> str:
    return f"{sys.executable} {APP} --port {port}"


def wait_serving(port: int, timeout: float = 15) -> dict:
    r = wait_until(lambda: http_probe(f"http://127.0.0.1:{port}/", timeout=2), timeout, 0.1)
    assert r.ok, r.error
    return httpx.get(f"http://127.0.0.1:{port}/", trust_env=False).json()


def wait_for(cond, timeout: float = 20, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


@pytest.fixture
def sv(tmp_path):
    sup = Supervisor(tmp_path / "supervisor")
    yield sup
    pid = sup.daemon_pid()
    sup.shutdown()
    assert not pid_alive(pid)


def test_is_a_process_manager(sv):
    assert isinstance(sv, ProcessManager)


def test_program_starts_serves_and_is_idempotent(sv):
    port = free_port()
    env = {"APP_TOKEN": "s3cr3t-value", "PCT": "50%"}
    assert sv.ensure_program("web", app_cmd(port), cwd=str(APP.parent), env=env) is True
    body = wait_serving(port)
    st = sv.status("web")
    assert st.up and st.pid == body["pid"] and st.state in ("STARTING", "RUNNING")
    environ = Path(f"/proc/{st.pid}/environ").read_bytes().split(b"\0")
    assert b"APP_TOKEN=s3cr3t-value" in environ and b"PCT=50%" in environ
    conf = sv.program_file("web")
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    assert stat.S_IMODE(sv.root.stat().st_mode) == 0o700
    assert sv.ensure_program("web", app_cmd(port), cwd=str(APP.parent), env=env) is False
    assert sv.status("web").pid == st.pid
    wait_for(lambda: sv.status("web").state == "RUNNING")
    assert sv.status("web").uptime_s >= 1
    assert "s3cr3t" not in (sv.root / "supervisord.log").read_text()


def test_changed_program_is_restarted(sv):
    port = free_port()
    sv.ensure_program("web", app_cmd(port), env={"V": "1"})
    pid1 = wait_serving(port)["pid"]
    assert sv.ensure_program("web", app_cmd(port), env={"V": "2"}) is True
    pid2 = wait_serving(port)["pid"]
    assert pid2 != pid1 and not pid_alive(pid1)
    assert b"V=2" in Path(f"/proc/{pid2}/environ").read_bytes().split(b"\0")


def test_killed_process_is_restarted(sv):
    port = free_port()
    sv.ensure_program("web", app_cmd(port), start_secs=1)
    wait_for(lambda: sv.status("web").state == "RUNNING")
    old = sv.status("web").pid
    os.kill(old, signal.SIGKILL)
    new = wait_for(lambda: (s := sv.status("web")).pid not in (None, old) and s.pid)
    assert wait_serving(port)["pid"] == new


def test_crashing_program_ends_fatal_with_its_stderr(sv):
    sv.ensure_program("crash", "sh -c 'echo boom >&2; exit 3'", start_secs=1, start_retries=1)
    wait_for(lambda: sv.status("crash").state == "FATAL")
    assert "boom" in sv.tail("crash", "stderr")


def test_stop_start_restart_tail_remove(sv):
    port = free_port()
    sv.ensure_program("web", app_cmd(port))
    pid = wait_serving(port)["pid"]
    assert sv.stop("web").state == "STOPPED" and not pid_alive(pid)
    assert not http_probe(f"http://127.0.0.1:{port}/", timeout=1).ok
    assert sv.ensure_program("web", app_cmd(port)) is False  # unchanged: stays stopped
    assert sv.status("web").state == "STOPPED"
    sv.start("web")
    pid2 = wait_serving(port)["pid"]
    sv.restart("web")
    assert wait_serving(port)["pid"] != pid2
    assert f"serving on 127.0.0.1:{port}" in sv.tail("web", "stdout")
    last = sv.status("web").pid
    assert sv.remove("web") is True
    assert sv.status("web") is None and not pid_alive(last)
    assert not sv.program_file("web").exists()
    with pytest.raises(BrickFailed, match="no program"):
        sv.start("web")


def test_bad_names_are_refused(sv):
    with pytest.raises(BrickFailed, match="bad program name"):
        sv.ensure_program("../etc", "true")
    with pytest.raises(BrickFailed, match="environment variable name"):
        sv.ensure_program("ok", "true", env={"A-B": "1"})


def test_daemon_outlives_the_process_that_started_it(tmp_path):
    root = tmp_path / "supervisor"
    code = ("import sys; from pathlib import Path; from nebhx.runtime.supervisor import Supervisor;"
            f"Supervisor(Path({str(root)!r})).ensure_running()")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    sup = Supervisor(root)
    try:
        assert sup.ping() and pid_alive(sup.daemon_pid())
        sup.ensure_running()  # idempotent: the same daemon answers
        assert len([p for p in Path("/proc").iterdir() if p.name.isdigit()
                    and f"{root}/supervisord.conf".encode() in _cmdline(p)]) == 1
    finally:
        sup.shutdown()
    assert not sup.ping()


def test_deep_home_gets_a_short_socket(tmp_path):
    sup = Supervisor(tmp_path / ("x" * 90) / "supervisor")
    try:
        sup.ensure_running()
        assert len(str(sup.sock)) < 100 and sup.ping()
    finally:
        sup.shutdown()


def _cmdline(p: Path) -> bytes:
    try:
        return (p / "cmdline").read_bytes()
    except OSError:
        return b""
