"""haproxy.cfg as generated: every value is typed, and one that could break out of its line or
token (a newline, a space, a quote, a comment sign) is refused naming the field (issue 18,
item 11). What is accepted, haproxy itself accepts (`haproxy -c`)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from nebhx import BrickFailed
from nebhx.runtime.haproxy import LBSpec, render

INJECT = "\n    http-request return status 200 content-type text/plain string INJECTED"


def rendered(tmp_path: Path, **kw) -> str:
    spec = {"name": "web", "bind": "127.0.0.1:8100", "servers": ["127.0.0.1:8101"], **kw}
    return render(LBSpec(**spec), tmp_path / "admin.sock", tmp_path / "server-state")


@pytest.mark.parametrize("field,value", [
    ("health_path", "/health" + INJECT),
    ("health_path", "/health HTTP/1.1"),
    ("health_path", "/health#frag"),
    ("health_path", 'health"'),
    ("bind", "127.0.0.1" + INJECT + ":8100"),
    ("bind", "0.0.0.0 ssl crt /etc/passwd:8100"),
    ("servers", ["127.0.0.1" + INJECT + ":8101"]),
    ("servers", ["127.0.0.1:8101 backup"]),
    ("servers", ["127.0.0.1:http"]),
    ("name", "web" + INJECT),
    ("mode", "http\n    option httpclose"),
])
def test_a_value_that_could_break_out_is_refused_naming_its_field(tmp_path, field, value):
    with pytest.raises(BrickFailed, match=field):
        rendered(tmp_path, **{field: value})


def test_a_socket_path_that_could_break_out_is_refused(tmp_path):
    with pytest.raises(BrickFailed, match="path"):
        render(LBSpec("web", "127.0.0.1:8100", ["127.0.0.1:8101"]), tmp_path / "a b\nstats" / "s",
               tmp_path / "state")


@pytest.mark.parametrize("field,value", [("inter_ms", 0), ("fall", 0), ("rise", 1000), ("timeout_ms", -1)])
def test_check_timings_are_bounded_integers(tmp_path, field, value):
    with pytest.raises(BrickFailed, match=field):
        rendered(tmp_path, checks={field: value})


def test_timings_agent_check_and_stats_render_and_haproxy_accepts_them(tmp_path):
    text = rendered(tmp_path, servers=["127.0.0.1:8101", "[::1]:8102"], health_path="/health?full=1",
                    checks={"inter_ms": 250, "fall": 3, "rise": 2, "timeout_ms": 200},
                    agent_port=8099, agent_inter_ms=200, stats="127.0.0.1:8404",
                    stats_allow=["127.0.0.1", "10.231.0.0/24"])
    assert "check inter 250ms fall 3 rise 2" in text and "timeout check 200ms" in text
    assert 'agent-check agent-port 8099 agent-inter 200ms agent-send "srv_127_0_0_1_8101\\n"' in text
    assert "option httpchk GET /health?full=1" in text
    assert "http-request deny unless { src 127.0.0.1 10.231.0.0/24 }" in text
    assert "stats admin" not in text  # read only: drain goes through the agent check
    exe = shutil.which("haproxy") or "/usr/sbin/haproxy"
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(text)
    proc = subprocess.run([exe, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
