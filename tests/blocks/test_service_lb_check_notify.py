"""service.*, lb.*, check.*, notify.* bricks on the real thing: supervisord, haproxy,
the example app, an aiosmtpd server and an http.server, all on 127.0.0.1."""
from __future__ import annotations

import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from nebhx import BrickFailed, Cancelled, Context
from nebhx.bricks.registry import load_registry
from nebhx.runtime import HostRuntime
from nebhx.runtime.haproxy import HAProxy
from nebhx.runtime.supervisor import pid_alive
from support import Inbox, free_port, require

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = ROOT / "examples" / "app"
PY = sys.executable
APP_CMD = f"{PY} {{release}}/webapp.py --port {{port}} --config {{config}} --data {{data}}"
PALETTE = load_registry([ROOT / "blocks"])
MINE = ("service.run", "service.stop", "lb.haproxy", "lb.backend_state", "check.http",
        "check.tcp", "check.command", "notify.email", "notify.webhook")


def test_bricks_load_with_docs():
    mine = [e for e in PALETTE.errors if any(f"/blocks/{d}/" in e.source for d in
                                             ("service", "lb", "check", "notify"))]
    assert not mine, mine
    for brick_id in MINE:
        spec = PALETTE.specs[brick_id]
        assert len(spec["docs"]) > 80 and spec["category"] == brick_id.split(".")[0]
    assert PALETTE.specs["service.run"]["host_input"] == "host"
    assert PALETTE.specs["notify.email"]["host_input"] is None
    assert {p["name"]: p["type"] for p in PALETTE.specs["notify.email"]["inputs"]}["password"] == "Secret"


def brick(brick_id: str):
    return PALETTE.get(brick_id)()


def get(address: str, path: str = "/") -> dict:
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        assert resp.status == 200, resp.status
        return json.loads(resp.read())
    finally:
        conn.close()


@pytest.fixture
def rt(tmp_path):
    require("haproxy", "haproxy")
    runtime = HostRuntime("h1", tmp_path / "h1")
    runtime.address = "127.0.0.1"  # what service.run advertises by default; only loopback here
    svc = runtime.home / "services" / "web"
    shutil.copytree(APP_DIR, svc / "releases" / "v1", ignore=shutil.ignore_patterns("__pycache__"))
    (svc / "releases" / "v1" / "VERSION").write_text("1.0.0\n")
    (svc / "current").symlink_to("releases/v1")
    (svc / "app.json").write_text(json.dumps({"greeting": "hello from config"}))
    (svc / "data").mkdir()
    (svc / "data" / "message.txt").write_text("hello from data\n")
    yield runtime
    for lb_dir in (runtime.home / "haproxy").glob("*"):
        HAProxy(lb_dir).stop()
    pid = runtime.supervisor.daemon_pid()
    runtime.supervisor.shutdown()
    assert not pid_alive(pid)


def ctx_for(rt: HostRuntime, secrets: list[str] | None = None) -> Context:
    return Context(runtime=rt, host=rt.name, secrets=secrets)


def run_web(rt: HostRuntime, port: int, **extra):
    svc = rt.home / "services" / "web"
    inputs = dict(host="h1", service="web", command=APP_CMD, config_path=str(svc / "app.json"),
                  data_path=str(svc / "data"), port=port, ready_http="/health", ready_timeout_s=20)
    return brick("service.run")(ctx_for(rt), **{**inputs, **extra})


# -- service.run / service.stop -----------------------------------------------------------
def test_service_runs_serves_release_config_data_and_is_idempotent(rt):
    port = free_port()
    out = run_web(rt, port, env={"APP_MODE": "prod"})
    assert out.address == f"127.0.0.1:{port}" and out.changed and out.program == "web"
    body = get(out.address)
    assert body == {"version": "1.0.0", "greeting": "hello from config",
                    "message": "hello from data", "pid": out.pid, "port": port}
    again = run_web(rt, port, env={"APP_MODE": "prod"})
    assert not again.changed and again.pid == out.pid
    newer = run_web(rt, port, env={"APP_MODE": "canary"})  # changed inputs restart it
    assert newer.changed and newer.pid != out.pid and get(newer.address)["pid"] == newer.pid


def test_address_defaults_to_the_hosts_address(rt):
    port = free_port()
    rt.address = "10.231.254.7"  # as an agent with NEBHX_AGENT_ADDRESS reports it; never dialled
    out = run_web(rt, port)
    assert out.address == f"10.231.254.7:{port}"
    assert run_web(rt, port, advertise_host="127.0.0.1").address == f"127.0.0.1:{port}"
    spec = {p["name"]: p for p in PALETTE.specs["service.run"]["inputs"]}["advertise_host"]
    assert not spec["required"]


def test_release_switch_restarts_on_the_new_release(rt):
    port = free_port()
    first = run_web(rt, port)
    svc = rt.home / "services" / "web"
    shutil.copytree(svc / "releases" / "v1", svc / "releases" / "v2")
    (svc / "releases" / "v2" / "VERSION").write_text("2.0.0\n")
    (svc / "current.tmp").symlink_to("releases/v2")
    (svc / "current.tmp").replace(svc / "current")
    second = run_web(rt, port)
    assert second.changed and second.pid != first.pid
    assert get(second.address)["version"] == "2.0.0"
    assert Path(f"/proc/{second.pid}/cwd").resolve() == (svc / "releases" / "v2").resolve()


def test_killed_service_is_restarted_by_supervisord(rt):
    port = free_port()
    out = run_web(rt, port, start_secs=1)
    os.kill(out.pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        st = rt.supervisor.status("web")
        if st and st.pid and st.pid != out.pid and st.state == "RUNNING":
            break
        time.sleep(0.1)
    else:
        raise AssertionError("supervisord did not restart the service")
    assert get(out.address)["pid"] == st.pid


def test_never_ready_fails_with_probe_error_and_leaves_nothing(rt):
    port = free_port()
    marker = f"{900 + port % 97}.5"  # a unique sleep argument, to find the process
    ctx = ctx_for(rt)
    with pytest.raises(BrickFailed, match=r"did not become ready .*ConnectError") as err:
        brick("service.run")(ctx, host="h1", service="stuck", command=f"sleep {marker}",
                             port=port, ready_http="/health", ready_timeout_s=2)
    assert "attempt" in str(err.value)
    assert rt.supervisor.status("stuck") is None
    assert not rt.supervisor.program_file("stuck").exists()
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmd(p) == ["sleep", marker]]


def test_cancelled_start_leaves_nothing(rt):
    ctx = ctx_for(rt)
    threading.Timer(1.0, ctx.cancelled.set).start()
    with pytest.raises(Cancelled):
        brick("service.run")(ctx, host="h1", service="slow", command="sleep 600",
                             port=free_port(), ready_tcp=True, ready_timeout_s=60)
    assert rt.supervisor.status("slow") is None


def test_crashing_service_fails_with_its_stderr(rt):
    with pytest.raises(BrickFailed, match=r"(?s)FATAL.*config missing"):
        brick("service.run")(ctx_for(rt), host="h1", service="web",
                             command="sh -c 'echo config missing >&2; exit 2'",
                             ready_tcp=True, port=free_port(), max_restarts=1, ready_timeout_s=20)
    assert rt.supervisor.status("web") is None


def test_port_in_use_fails_clearly(rt):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(BrickFailed, match=f"port {port} is already in use"):
            run_web(rt, port)
    assert rt.supervisor.status("web") is None


def test_missing_release_or_placeholder_input_fails_clearly(rt):
    with pytest.raises(BrickFailed, match="does not exist: stage a release"):
        brick("service.run")(ctx_for(rt), host="h1", service="nothere", command="{release}/run")
    with pytest.raises(BrickFailed, match="uses {data} but input 'data_path' is not set"):
        brick("service.run")(ctx_for(rt), host="h1", service="web", command="ls {data}")


def test_service_stop(rt):
    port = free_port()
    out = run_web(rt, port)
    stopped = brick("service.stop")(ctx_for(rt), host="h1", service="web")
    assert stopped.was_running and not pid_alive(out.pid)
    assert rt.supervisor.status("web").state == "STOPPED"
    assert run_web(rt, port).pid != out.pid  # unchanged inputs start it again
    brick("service.stop")(ctx_for(rt), host="h1", service="web", remove=True)
    assert rt.supervisor.status("web") is None
    assert not brick("service.stop")(ctx_for(rt), host="h1", service="web").was_running



# -- lb.haproxy / lb.backend_state --------------------------------------------------------
def two_instances(rt: HostRuntime) -> list[str]:
    return [run_web(rt, free_port(), instance=name).address for name in ("a", "b")]


def ports_of(addresses) -> set[int]:
    return {int(a.rsplit(":", 1)[1]) for a in addresses}


def test_haproxy_in_front_of_two_instances_with_drain(rt):
    a, b = two_instances(rt)
    lb_port = free_port()
    lb = brick("lb.haproxy")
    out = lb(ctx_for(rt), host="h1", name="web", bind_port=lb_port, backends=[a, b],
             health_path="/health")
    assert out.address == f"127.0.0.1:{lb_port}" and out.changed
    assert {get(out.address)["port"] for _ in range(6)} == ports_of([a, b])
    state = brick("lb.backend_state")
    res = state(ctx_for(rt), host="h1", name="web", backend=a, state="drain", wait_idle_s=5)
    assert res.previous == "ready" and res.sessions == 0
    assert {get(out.address)["port"] for _ in range(6)} == ports_of([b])
    state(ctx_for(rt), host="h1", name="web", backend=a, state="ready")
    assert {get(out.address)["port"] for _ in range(6)} == ports_of([a, b])
    # The balancer brick declares the full state: its drain list wins, unchanged config.
    again = lb(ctx_for(rt), host="h1", name="web", bind_port=lb_port, backends=[a, b],
               health_path="/health", drain=[b])
    assert not again.changed
    assert {s["address"]: s["admin"] for s in again.servers} == {a: "ready", b: "drain"}
    assert {get(out.address)["port"] for _ in range(6)} == ports_of([a])
    with pytest.raises(BrickFailed, match="is not in load balancer web"):
        state(ctx_for(rt), host="h1", name="web", backend="127.0.0.1:1", state="drain")
    with pytest.raises(BrickFailed, match="not backends"):
        lb(ctx_for(rt), host="h1", name="web", bind_port=lb_port, backends=[a], drain=[b])


def test_haproxy_reload_with_new_backend_list_loses_no_request(rt):
    a, b = two_instances(rt)
    lb_port = free_port()
    lb = brick("lb.haproxy")
    out = lb(ctx_for(rt), host="h1", name="web", bind_port=lb_port, backends=[a])
    counts = {"ok": 0, "failed": 0}
    stop = threading.Event()

    def loop():
        while not stop.is_set() and counts["ok"] + counts["failed"] < 20000:
            try:
                get(out.address)
                counts["ok"] += 1
            except Exception:  # any failure, of any kind, is a lost request
                counts["failed"] += 1

    threads = [threading.Thread(target=loop) for _ in range(3)]
    for t in threads:
        t.start()
    for backends in ([a, b], [b], [a, b]):
        time.sleep(0.3)
        assert lb(ctx_for(rt), host="h1", name="web", bind_port=lb_port, backends=backends).changed
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(30)
    assert counts["failed"] == 0 and counts["ok"] > 50, counts
    assert {get(out.address)["port"] for _ in range(6)} == ports_of([a, b])


# -- check.* --------------------------------------------------------------------------------
def test_checks_pass_with_evidence(rt):
    address = run_web(rt, free_port()).address
    ok = brick("check.http")(ctx_for(rt), host="h1", url=f"http://{address}/", contains="hello from data")
    assert ok.ok and ok.evidence["status"] == 200 and ok.evidence["attempts"] == 1
    assert "hello from config" in ok.evidence["body"] and ok.evidence["elapsed_ms"] >= 0
    assert brick("check.tcp")(ctx_for(rt), host="h1", address=address).ok
    cmd = brick("check.command")(ctx_for(rt), host="h1", command=f"test -d {rt.home}")
    assert cmd.ok and cmd.evidence["status"] == 0


def test_checks_fail_strictly_after_retries(rt):
    dead = f"127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    with pytest.raises(BrickFailed, match="check failed after 3 attempt"):
        brick("check.http")(ctx_for(rt), host="h1", url=f"http://{dead}/", attempts=3, interval_s=0.2)
    assert time.monotonic() - t0 < 5
    soft = brick("check.tcp")(ctx_for(rt), host="h1", address=dead, attempts=2, interval_s=0.1,
                              fail_on_error=False)
    assert not soft.ok and soft.evidence["attempts"] == 2 and "refused" in soft.evidence["error"].lower()
    with pytest.raises(BrickFailed, match="exit code 1"):
        brick("check.command")(ctx_for(rt), host="h1", command="false", attempts=1)
    address = run_web(rt, free_port()).address
    with pytest.raises(BrickFailed, match="status 404, expected 200"):
        brick("check.http")(ctx_for(rt), host="h1", url=f"http://{address}/nope", attempts=1)


# -- notify.* -------------------------------------------------------------------------------
PASSWORD = "pa55-w0rd-never-logged"


def _auth(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


def test_email_brick_sends_and_never_shows_the_password(rt):
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=_auth,
                     auth_require_tls=False)
    ctl.start()
    try:
        ctx = Context()  # no secrets registered: the brick itself must keep it out
        out = brick("notify.email")(ctx, smtp_host="127.0.0.1", smtp_port=ctl.port,
                                    username="deploy", password=PASSWORD, sender="nebhx@example.org",
                                    to=["ops@example.org"], subject="web 1.0.0 is live",
                                    body="All good.\n")
        assert out.accepted == ["ops@example.org"]
        text = inbox.messages[0].content.decode()
        assert "Subject: web 1.0.0 is live" in text and "All good." in text
        assert ctx.lines and not any(PASSWORD in line for line in ctx.lines)
        assert PASSWORD not in out.model_dump_json()
        with pytest.raises(BrickFailed, match="refused") as err:
            brick("notify.email")(Context(), smtp_host="127.0.0.1", smtp_port=ctl.port,
                                  username="deploy", password="x" + PASSWORD, sender="a@example.org",
                                  to=["ops@example.org"], subject="s")
        assert PASSWORD not in str(err.value)
    finally:
        ctl.stop()


class Hook(http.server.BaseHTTPRequestHandler):
    got: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Hook.got.append((self.headers.get("Authorization"), body))
        code = 200 if self.path == "/ok" else 418
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"hi")

    def log_message(self, *args):
        pass


def test_webhook_brick(rt):
    Hook.got = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        ctx = Context()
        out = brick("notify.webhook")(ctx, url=url + "/ok", payload={"service": "web", "ok": True},
                                      token="tok-123")
        assert out.status == 200 and out.body == "hi"
        assert Hook.got == [("Bearer tok-123", {"service": "web", "ok": True})]
        assert not any("tok-123" in line for line in ctx.lines)
        with pytest.raises(BrickFailed, match="answered 418"):
            brick("notify.webhook")(Context(), url=url + "/teapot", payload={})
    finally:
        srv.shutdown()
        srv.server_close()


def _cmd(p: Path) -> list[str]:
    try:
        return (p / "cmdline").read_bytes().decode().split("\0")[:-1]
    except OSError:
        return []
