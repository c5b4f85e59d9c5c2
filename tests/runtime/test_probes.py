"""Probes against real sockets, a real HTTP server and real commands (127.0.0.1 only)."""
from __future__ import annotations

import http.server
import threading
import time

import pytest

from nebhx import Context
from nebhx.runtime.probes import command_probe, http_probe, split_address, tcp_probe, wait_until
from support import free_port


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        code, body = {"/ok": (200, b"all good"), "/big": (200, b"x" * 5000)}.get(self.path, (503, b"down"))
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(port: int) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def server():
    srv = serve(free_port())
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_http_probe_ok_with_evidence(server):
    r = http_probe(server + "/ok", contains="good")
    assert r.ok and r.status == 200 and r.body == "all good" and r.error is None
    assert r.elapsed_ms >= 0 and r.evidence["status"] == 200


def test_http_probe_wrong_status_and_missing_text(server):
    r = http_probe(server + "/down")
    assert not r.ok and r.status == 503 and "expected 200" in r.error and r.body == "down"
    assert http_probe(server + "/down", expect_status=503).ok
    r = http_probe(server + "/ok", contains="nope")
    assert not r.ok and "does not contain" in r.error


def test_http_probe_body_excerpt_is_bounded(server):
    assert len(http_probe(server + "/big").body) == 500


def test_http_probe_refused():
    r = http_probe(f"http://127.0.0.1:{free_port()}/", timeout=2)
    assert not r.ok and r.status is None and "ConnectError" in r.error


def test_tcp_probe(server):
    assert tcp_probe(server.removeprefix("http://")).ok
    r = tcp_probe(f"127.0.0.1:{free_port()}", timeout=2)
    assert not r.ok and "refused" in r.error.lower()
    assert not tcp_probe("no-port-here").ok
    assert split_address(":80") == ("127.0.0.1", 80)


def test_command_probe():
    assert command_probe("echo hi && true").ok
    r = command_probe(["sh", "-c", "echo broken >&2; exit 4"])
    assert not r.ok and r.status == 4 and "broken" in r.error and "broken" in r.body
    r = command_probe("sleep 5", timeout=0.3)
    assert not r.ok and "timed out" in r.error
    assert not command_probe(["/nonexistent/tool"]).ok


def test_wait_until_retries_until_a_server_appears():
    port = free_port()
    started: list = []
    timer = threading.Timer(1.0, lambda: started.append(serve(port)))

    def probe():
        # The server comes up 1 s after the first attempt has failed (not 1 s after the test
        # started: under load that first attempt may begin later than a fixed timer).
        r = http_probe(f"http://127.0.0.1:{port}/ok", timeout=1)
        if timer.ident is None:  # not started yet
            timer.start()
        return r

    ctx = Context()
    t0 = time.monotonic()
    r = wait_until(probe, 10, 0.2, ctx)
    timer.join()
    try:
        assert r.ok and r.attempts > 1 and time.monotonic() - t0 < 8
        assert any("probe attempt 1" in line for line in ctx.lines)
    finally:
        started[0].shutdown()
        started[0].server_close()


def test_wait_until_gives_up_with_last_result_and_on_abort():
    port = free_port()
    t0 = time.monotonic()
    r = wait_until(lambda: tcp_probe(f"127.0.0.1:{port}", timeout=0.5), 1.0, 0.2)
    assert not r.ok and r.attempts >= 3 and "refused" in r.error.lower()
    assert time.monotonic() - t0 < 3
    r = wait_until(lambda: tcp_probe(f"127.0.0.1:{port}"), 30, 0.1, abort=lambda: "process died")
    assert r.attempts == 1 and r.error.startswith("process died")
    r = wait_until(lambda: tcp_probe(f"127.0.0.1:{port}"), 30, 0.01, max_attempts=4)
    assert r.attempts == 4
