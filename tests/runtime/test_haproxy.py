"""The HAProxy adapter against a real haproxy and two real example-app backends."""
from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nebhx import BrickFailed
from nebhx.runtime.haproxy import HAProxy, server_name
from nebhx.runtime.probes import http_probe, wait_until
from nebhx.runtime.supervisor import pid_alive
from support import free_port, require, wait_for

APP = Path(__file__).resolve().parents[2] / "examples" / "app" / "webapp.py"


def ensure_haproxy() -> None:
    require("haproxy", "haproxy")


def get(port: int) -> int:
    """One request on a fresh connection; the answering backend's port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        assert resp.status == 200, resp.status
        return json.loads(resp.read())["port"]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def backends():
    """Three example apps on free ports, as plain child processes."""
    procs, addrs = [], []
    for _ in range(3):
        port = free_port()
        procs.append(subprocess.Popen([sys.executable, str(APP), "--port", str(port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        addrs.append(f"127.0.0.1:{port}")
    for a in addrs:
        assert wait_until(lambda: http_probe(f"http://{a}/health", timeout=1), 15, 0.1).ok
    yield addrs
    for p in procs:
        p.terminate()
        p.wait(10)


@pytest.fixture
def lb(tmp_path):
    ensure_haproxy()
    h = HAProxy(tmp_path / "haproxy" / "web")
    yield h
    master = h.master_pid()
    h.stop()
    assert not pid_alive(master)


def ports(addrs):
    return {int(a.rsplit(":", 1)[1]) for a in addrs}


def test_start_balances_and_unchanged_apply_does_not_reload(lb, backends):
    port = free_port()
    assert lb.apply(f"127.0.0.1:{port}", backends[:2], health_path="/health") is True
    assert lb.running()
    assert {get(port) for _ in range(6)} == ports(backends[:2])
    worker = lb._worker_pid()
    assert lb.apply(f"127.0.0.1:{port}", backends[:2], health_path="/health") is False
    assert lb._worker_pid() == worker
    states = lb.servers_state()
    assert [s["address"] for s in states] == backends[:2]
    assert all(s["admin"] == "ready" and s["operational"] == "up" for s in states)
    assert "level admin expose-fd listeners" in lb.cfg.read_text()


def test_reload_with_changed_backends_loses_no_request(lb, backends):
    port = free_port()
    lb.apply(f"127.0.0.1:{port}", backends[:1])
    results = {"ok": 0, "failed": 0, "errors": []}
    stop = threading.Event()

    def hammer():
        while not stop.is_set() and results["ok"] + results["failed"] < 20000:
            try:
                get(port)
                results["ok"] += 1
            except Exception as exc:  # every failure counts, whatever its kind
                results["failed"] += 1
                results["errors"].append(repr(exc))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    workers = set()
    for servers in (backends[:2], backends, backends[1:], backends[:1], backends):
        time.sleep(0.3)
        assert lb.apply(f"127.0.0.1:{port}", servers) is True
        workers.add(lb._worker_pid())
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(30)
    assert len(workers) == 5  # each apply brought up a new worker
    assert results["failed"] == 0, results["errors"][:5]
    assert results["ok"] > 50
    print("requests through 5 reloads:", results["ok"])
    assert {get(port) for _ in range(9)} == ports(backends)


def test_drain_via_runtime_api_and_it_survives_a_reload(lb, backends):
    port = free_port()
    lb.apply(f"127.0.0.1:{port}", backends[:2], health_path="/health")
    a, b = backends[:2]
    lb.set_server_state(lb.backend, server_name(a), "drain")
    assert {get(port) for _ in range(6)} == ports([b])
    assert {s["address"]: s["admin"] for s in lb.servers_state()} == {a: "drain", b: "ready"}
    lb.apply(f"127.0.0.1:{port}", backends, health_path="/health")  # reload keeps the drain
    assert {get(port) for _ in range(9)} == ports(backends[1:])
    lb.set_server_state(lb.backend, server_name(a), "ready")
    assert {get(port) for _ in range(9)} == ports(backends)
    lb.set_server_state(lb.backend, server_name(b), "maint")
    assert b not in {f"127.0.0.1:{get(port)}" for _ in range(6)}
    with pytest.raises(BrickFailed, match="refused"):
        lb.set_server_state(lb.backend, "no_such_server", "drain")
    with pytest.raises(BrickFailed, match="state must be"):
        lb.set_server_state(lb.backend, server_name(a), "sleepy")


def test_dead_backend_is_skipped_by_health_checks(lb, backends):
    port = free_port()
    dead = f"127.0.0.1:{free_port()}"
    lb.apply(f"127.0.0.1:{port}", [backends[0], dead], health_path="/health")
    # down after two failed checks, 1 s apart: polled, not slept
    wait_for(lambda: {s["address"]: s["operational"] for s in lb.servers_state()}[dead] == "down", 15,
             what=f"{dead} marked down by the health checks")
    assert {get(port) for _ in range(6)} == ports(backends[:1])


def test_tcp_mode(lb, backends):
    port = free_port()
    lb.apply(f"127.0.0.1:{port}", backends[:2], mode="tcp")
    assert "mode tcp" in lb.cfg.read_text()
    assert {get(port) for _ in range(6)} == ports(backends[:2])


def test_rejected_config_keeps_the_running_balancer(lb, backends):
    port = free_port()
    lb.apply(f"127.0.0.1:{port}", backends[:1])
    good = lb.cfg.read_text()
    with pytest.raises(BrickFailed, match="haproxy rejected the config"):
        lb.apply(f"127.0.0.1:{port}", ["no-such-host.invalid:8101"])  # cannot be resolved
    with pytest.raises(BrickFailed, match="servers: '127.0.0.1:99999' is not host:port"):
        lb.apply(f"127.0.0.1:{port}", ["127.0.0.1:99999"])
    assert lb.cfg.read_text() == good and get(port) in ports(backends[:1])


def test_port_in_use_fails_clearly(tmp_path, backends):
    ensure_haproxy()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        h = HAProxy(tmp_path / "haproxy" / "busy")
        with pytest.raises(BrickFailed, match="(?i)cannot bind|address already in use"):
            h.apply(f"127.0.0.1:{busy.getsockname()[1]}", backends[:1])
        assert not h.running()


def test_balancer_outlives_its_starter_and_stops(tmp_path, backends):
    ensure_haproxy()
    port = free_port()
    root = tmp_path / "haproxy" / "detached"
    code = ("from pathlib import Path; from nebhx.runtime.haproxy import HAProxy;"
            f"HAProxy(Path({str(root)!r})).apply('127.0.0.1:{port}', {backends[:1]!r})")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    h = HAProxy(root)
    try:
        assert h.running() and get(port) in ports(backends[:1])
    finally:
        h.stop()
    assert not h.running() and not http_probe(f"http://127.0.0.1:{port}/", timeout=1).ok


def test_drain_waits_for_sessions_and_enable_waits_until_up(lb, backends):
    port = free_port()
    lb.apply(f"127.0.0.1:{port}", backends[:2], health_path="/health")
    a = backends[0]
    assert lb.drain(a, timeout_s=5) == 0 and lb.server(a)["admin"] == "drain"
    assert {get(port) for _ in range(6)} == ports(backends[1:2])
    row = lb.enable(a, timeout_s=10)
    assert (row["admin"], row["operational"]) == ("ready", "up")
    assert {get(port) for _ in range(6)} == ports(backends[:2])
    with pytest.raises(BrickFailed, match="is not in load balancer"):
        lb.drain("127.0.0.1:1", timeout_s=1)


def test_a_balancer_stopped_by_another_process_leaves_no_zombie(tmp_path, backends):
    """Issue 17, item 8: `nebhx down` stopped HAProxy, but the worker that started it kept it
    as a zombie (`<defunct>` in ps) until `nebhx up` exited."""
    from support import wait_for
    ensure_haproxy()
    lb = HAProxy(tmp_path / "hosts" / "h1" / "haproxy" / "web")  # as host h1 keeps it
    lb.apply(f"127.0.0.1:{free_port()}", backends[:1])
    master = lb.master_pid()
    code = ("from pathlib import Path; from nebhx.runtime.leftovers import stop_all;"
            f"print(stop_all(Path({str(tmp_path)!r})))")  # what `nebhx down` does
    try:
        said = subprocess.run([sys.executable, "-c", code], check=True, timeout=60, capture_output=True, text=True)
        assert f"haproxy web of h1 (pid {master})" in said.stdout
        proc = Path(f"/proc/{master}")
        wait_for(lambda: not proc.exists(), 5, what=f"haproxy {master} reaped (not a zombie)")
    finally:
        lb.stop()
