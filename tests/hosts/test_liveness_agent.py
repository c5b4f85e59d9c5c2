"""Liveness through the real agent: its own thread probes, restarts, gives up; the services
view (API), `nebhx services` and /metrics say so, and the mail goes out (aiosmtpd)."""
from __future__ import annotations

import subprocess
import sys

import pytest
from aiosmtpd.controller import Controller

from support import ROOT, Inbox, Stack, free_port, graph, make_env, wait_for

APP = ROOT / "tests" / "apps" / "flakyapp.py"


@pytest.fixture
def stack(tmp_path):
    # The alert goes where the agent's NEBHX_MAIL_SINK points when liveness names no smtp.
    smtp = free_port()
    env = make_env(tmp_path, NEBHX_AGENT_HEARTBEAT_S="0.5", NEBHX_SERVICES_CHECK_S="0.5",
                   NEBHX_MAIL_SINK=f"127.0.0.1:{smtp}")
    s = Stack(tmp_path, env).start()
    s.smtp = smtp
    yield s
    s.run(graph("stop-all", [("stop", "service.stop", {"host": "local", "service": "lv", "remove": True})]))
    s.stop()


def row(s: Stack) -> dict | None:
    with s.client() as c:
        return next((r for r in c.get("/services").json() if r["service"] == "lv"), None)


def test_the_agent_restarts_a_hung_service_then_reports_it_unhealthy(stack):
    s, box, smtp = stack, Inbox(), stack.smtp
    ctl = Controller(box, hostname="127.0.0.1", port=smtp)
    ctl.start()
    try:
        data = s.home / "hosts" / "local" / "services" / "lv" / "data"
        data.mkdir(parents=True)
        run = s.run(graph("lv", [("web", "service.run", {
            "host": "local", "service": "lv", "port": free_port(), "ready_http": "/health", "data_path": str(data),
            "command": f"{sys.executable} {APP} --port {{port}} --data {{data}}",
            "liveness": {"http": "/health", "interval_s": 0.3, "timeout_s": 0.5, "failures": 2, "restarts": 1,
                         "backoff_s": 0.5, "email": ["ops@example.org"]}})]))
        assert run["status"] == "succeeded", run["nodes"]["web"]["error"]
        wait_for(lambda: ((row(s) or {}).get("liveness") or {}).get("status") == "alive", 30, what="alive in the view")
        (data / "hang").touch()
        bad = wait_for(lambda: (r := row(s)) and (r.get("liveness") or {}).get("status") == "unhealthy" and r, 40,
                       what="unhealthy in the view")
        assert bad["liveness"]["restarts"] == 1 and bad["liveness"]["since"]
        assert bad["liveness"]["last_probe"]["ok"] is False
        mail = wait_for(lambda: box.messages, 10, what="the alert")
        assert "lv on local: unhealthy" in mail[0].content.decode()
    finally:
        ctl.stop()
    env = {**s.env, "NEBHX_URL": s.url, "COLUMNS": "250"}
    out = subprocess.run([sys.executable, "-m", "nebhx.cli.main", "services"], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "unhealthy since" in out.stdout and "1 restart(s)" in out.stdout
    metrics = s.client().get(s.url + "/metrics").text
    assert 'nebhx_service_liveness{host="local",instance="",service="lv",status="unhealthy"} 1.0' in metrics
    assert 'nebhx_service_liveness_restarts{host="local",instance="",service="lv"} 1.0' in metrics
    with s.client() as c:
        [rel] = [r for r in c.get("/releases").json() if r["service"] == "lv"]
    assert rel["liveness"]["status"] == "unhealthy"
