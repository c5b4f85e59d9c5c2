"""Liveness: a real app under supervisord that stops answering HTTP is restarted by the
agent's liveness thread, then marked unhealthy after the limit, with an e-mail (aiosmtpd)
and a webhook; answering again makes it alive again."""
from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from pydantic import ValidationError

from nebhx import Context
from nebhx.bricks.base import BrickFailed
from nebhx.bricks.registry import load_registry
from nebhx.runtime import HostRuntime
from nebhx.runtime.liveness import Watcher, start_watching
from nebhx.runtime.liveness_state import read_state
from nebhx.runtime.services import snapshot
from nebhx.runtime.supervisor import pid_alive
from support import Inbox, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
PALETTE = load_registry([ROOT / "blocks"])
APP = ROOT / "tests" / "apps" / "flakyapp.py"


@pytest.fixture
def rt(tmp_path):
    runtime = HostRuntime("h1", tmp_path / "h1")
    runtime.address = "127.0.0.1"
    (runtime.home / "services" / "web" / "data").mkdir(parents=True)
    yield runtime
    pid = runtime.supervisor.daemon_pid()
    runtime.supervisor.shutdown()
    assert not pid_alive(pid)


@pytest.fixture
def inbox():
    box, port = Inbox(), free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    yield box, port
    ctl.stop()


@pytest.fixture
def hook():
    got: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", got
    server.shutdown()


def run_web(rt, **liveness):
    data = rt.home / "services" / "web" / "data"
    return PALETTE.get("service.run")()(
        Context(runtime=rt, host="h1"), host="h1", service="web", port=free_port(), data_path=str(data),
        command=f"{sys.executable} {APP} --port {{port}} --data {{data}}", ready_http="/health",
        ready_timeout_s=20, liveness=liveness)


def ticked_alive(watcher: Watcher) -> None:
    """Tick until the watcher finds it alive (not before supervisord says RUNNING)."""
    def alive() -> bool:
        watcher.tick()
        return (read_state(watcher.rt.home, "web", "") or {}).get("status") == "alive"
    wait_for(alive, 15, interval=0.1, what="alive")


def row(rt):
    [r] = snapshot(rt, timeout=1)
    return r


def test_hung_service_is_restarted_then_unhealthy_with_mail_and_webhook(rt, inbox, hook):
    box, smtp_port = inbox
    url, posts = hook
    out = run_web(rt, http="/health", interval_s=0.3, timeout_s=0.5, failures=2, restarts=2, backoff_s=0.3,
                  email=["ops@example.org"], smtp=f"127.0.0.1:{smtp_port}", webhook=url)
    stop = threading.Event()
    start_watching(rt, tick_s=0.1, stop=stop)  # what the host's agent runs beside its heartbeat
    try:
        watched(rt, box, posts, out.pid)
    finally:
        stop.set()


def watched(rt, box, posts, first_pid):
    alive = wait_for(lambda: (row(rt)["liveness"] or {}).get("status") == "alive" and row(rt), 15, what="alive")
    assert alive["liveness"]["last_probe"]["ok"] and alive["liveness"]["restarts"] in (None, 0)

    (rt.home / "services/web/data/hang").touch()  # still running, no longer answering /health
    first = wait_for(lambda: (s := read_state(rt.home, "web", "") or {}).get("restarts") == 1 and s, 20,
                     what="a restart")
    assert first["status"] in ("restarting", "failing")
    wait_for(lambda: (p := row(rt)["pid"]) not in (None, first_pid) and p, 20, what="a new process")
    assert not pid_alive(first_pid)  # the hung process was stopped, not left beside the new one

    bad = wait_for(lambda: (s := read_state(rt.home, "web", "")) and s["status"] == "unhealthy" and s, 30,
                   what="unhealthy")
    assert bad["restarts"] == 2 and not bad["last_probe"]["ok"] and bad["last_probe"]["error"]
    mail = wait_for(lambda: box.messages, 10, what="the e-mail")
    assert mail[0].rcpt_tos == ["ops@example.org"]
    text = mail[0].content.decode()
    assert "web" in text and "unhealthy after 2 restart(s)" in text and "/health" in text
    assert posts and posts[0]["program"] == "web" and posts[0]["status"].startswith("unhealthy")
    view = row(rt)["liveness"]
    assert view["status"] == "unhealthy" and view["since"] and view["restarts"] == 2
    assert view["notified"]["error"] is None
    pid_now = row(rt)["pid"]
    assert row(rt)["state"] == "RUNNING" and pid_now  # left running: no more restarts

    (rt.home / "services/web/data/hang").unlink()  # it answers again by itself
    wait_for(lambda: read_state(rt.home, "web", "")["status"] == "alive", 20, what="alive again")
    assert row(rt)["pid"] == pid_now  # not restarted once unhealthy
    wait_for(lambda: len(box.messages) == 2, 10, what="the all-clear e-mail")
    assert "alive again" in box.messages[1].content.decode()
    assert len(mail) == 2 and len(posts) == 2  # one alert per change, not one per probe


def test_liveness_is_kept_in_the_record_and_validated(rt):
    run_web(rt, tcp=True, interval_s=5)
    rec = json.loads((rt.home / "services/web/instances/default.json").read_text())
    assert rec["liveness"]["probe"]["kind"] == "tcp" and rec["liveness"]["interval_s"] == 5
    spec = json.loads((rt.home / "services/web/specs/default.json").read_text())
    assert spec["liveness"]["tcp"] is True  # a rollout switch restarts with the same liveness
    ticked_alive(Watcher(rt))
    assert row(rt)["liveness"]["status"] == "alive"
    with pytest.raises(ValidationError, match=r"(?s)liveness.*htp: Extra inputs are not permitted"):
        run_web(rt, htp="/health")
    with pytest.raises(ValidationError, match=r"(?s)liveness.*interval_s: Input should be greater than or equal"):
        run_web(rt, tcp=True, interval_s=0)
    with pytest.raises(BrickFailed, match="liveness"):
        PALETTE.get("service.run")()(Context(runtime=rt, host="h1"), host="h1", service="other",
                                     command="sleep 100", liveness={"http": "/health"})


def test_a_service_stopped_on_purpose_is_not_started_again(rt):
    run_web(rt, tcp=True, interval_s=0.1, failures=1, restarts=3, backoff_s=0)
    watcher = Watcher(rt)
    ticked_alive(watcher)
    PALETTE.get("service.stop")()(Context(runtime=rt, host="h1"), host="h1", service="web")
    wait_for(lambda: (watcher.tick(), read_state(rt.home, "web", ""))[1]["status"] == "stopped", 10,
             what="seen stopped")
    for _ in range(3):  # interval_s 0.1: three more looks, none starts it
        time.sleep(0.15)
        watcher.tick()
    state = read_state(rt.home, "web", "")
    assert state["status"] == "stopped" and not state.get("restarts")
    assert rt.supervisor.status("web").state == "STOPPED"


def test_a_rollout_switch_keeps_the_liveness(rt):
    from nebhx.runtime.services import read_spec
    run_web(rt, http="/health", interval_s=7)
    inst = rt.service_instance("web")
    (rt.home / "services/web/releases/r2").mkdir(parents=True)
    inst.record(read_spec(rt.home, "web", ""), "r2", None)  # what a switch records after it
    rec = json.loads((rt.home / "services/web/instances/default.json").read_text())
    assert rec["release"] == "r2" and rec["liveness"]["interval_s"] == 7
    assert rec["liveness"]["probe"] == {"kind": "http", "target": f"http://127.0.0.1:{rec['port']}/health"}
