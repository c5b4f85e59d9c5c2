"""Notifications against a real SMTP server (aiosmtpd) and a real HTTP server."""
from __future__ import annotations

import http.server
import json
import threading
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from nebhx import BrickFailed
from nebhx.runtime.notify import post_webhook, send_email
from support import Inbox, free_port

PASSWORD = "hunter2-very-secret"


def check_login(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"deploy" \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture
def smtp():
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=free_port(),
                     authenticator=check_login, auth_require_tls=False)
    ctl.start()
    yield inbox, ctl.port
    ctl.stop()


class Hook(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((self.path, dict(self.headers), json.loads(body)))
        code = 500 if self.path == "/broken" else 202
        reply = b'{"accepted": true}' if code == 202 else b"kaput"
        self.send_response(code)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def hook():
    Hook.received = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", Hook.received
    srv.shutdown()
    srv.server_close()


def test_email_is_received(smtp):
    inbox, port = smtp
    out = send_email("127.0.0.1", port, "nebhx@example.org", ["ops@example.org", "b@example.org"],
                     "Deploy done", "All 3 hosts updated.\n")
    assert out["accepted"] == ["ops@example.org", "b@example.org"] and out["message_id"]
    mail_from, rcpts, msg = (inbox.messages[0].mail_from, inbox.messages[0].rcpt_tos,
                             message_from_bytes(inbox.messages[0].content))
    assert mail_from == "nebhx@example.org" and rcpts == ["ops@example.org", "b@example.org"]
    assert msg["Subject"] == "Deploy done" and msg.get_payload().strip() == "All 3 hosts updated."


def test_email_with_login(smtp):
    inbox, port = smtp
    send_email("127.0.0.1", port, "a@example.org", ["ops@example.org"], "s", "b",
               username="deploy", password=PASSWORD)
    assert len(inbox.messages) == 1


def test_refused_login_does_not_leak_the_password(smtp):
    _, port = smtp
    with pytest.raises(BrickFailed, match="refused") as err:
        send_email("127.0.0.1", port, "a@example.org", ["ops@example.org"], "s", "b",
                   username="deploy", password="wrong-" + PASSWORD)
    assert PASSWORD not in str(err.value)


def test_email_to_a_closed_port_fails_clearly():
    with pytest.raises(BrickFailed, match="sending e-mail via 127.0.0.1"):
        send_email("127.0.0.1", free_port(), "a@example.org", ["b@example.org"], "s", "b", timeout=3)


def test_webhook_posts_json(hook):
    url, received = hook
    res = post_webhook(url + "/deploys", {"run": "r1", "ok": True}, {"X-Team": "ops"})
    assert res.status == 202 and "accepted" in res.body and res.elapsed_ms > 0
    path, headers, body = received[0]
    assert path == "/deploys" and body == {"run": "r1", "ok": True} and headers["X-Team"] == "ops"


def test_webhook_non_2xx_is_returned_and_unreachable_raises(hook):
    url, _ = hook
    res = post_webhook(url + "/broken", {})
    assert res.status == 500 and res.body == "kaput"
    with pytest.raises(BrickFailed, match="webhook .* failed"):
        post_webhook(f"http://127.0.0.1:{free_port()}/", {}, timeout=3)
