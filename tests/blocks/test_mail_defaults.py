"""Issue 17, item 8: `notify.email` sent to 127.0.0.1:2525 even when NEBHX_MAIL_SINK named
another port, and `gate.approval` sent to port 25. Both now send to the mail sink `nebhx up`
runs unless given a server; explicit values still win. Real SMTP servers (aiosmtpd)."""
from __future__ import annotations

from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from nebhx import BrickFailed, Context, WaitFor
from nebhx.bricks.registry import load_registry
from nebhx.settings import reset_settings
from support import Inbox, free_port

REGISTRY = load_registry([Path(__file__).resolve().parents[2] / "blocks"])


def brick(brick_id: str):
    return REGISTRY.get(brick_id)()


@pytest.fixture
def smtp():
    """Two real SMTP servers: the mail sink NEBHX_MAIL_SINK names, and another one."""
    servers = []
    for _ in range(2):
        inbox = Inbox()
        ctl = Controller(inbox, hostname="127.0.0.1", port=free_port())
        ctl.start()
        servers.append((ctl, inbox))
    yield servers
    for ctl, _ in servers:
        ctl.stop()


@pytest.fixture
def sink_env(monkeypatch):
    def set_sink(value: str) -> None:
        monkeypatch.setenv("NEBHX_MAIL_SINK", value)
        reset_settings()
    yield set_sink
    monkeypatch.delenv("NEBHX_MAIL_SINK", raising=False)
    reset_settings()


def _subjects(inbox: Inbox) -> list[str]:
    return [m.content.decode().split("Subject: ", 1)[1].split("\r\n", 1)[0] for m in inbox.messages]


def test_email_goes_to_the_sink_nebhx_up_runs_unless_told_otherwise(smtp, sink_env):
    (sink, sink_inbox), (other, other_inbox) = smtp
    sink_env(f"127.0.0.1:{sink.port}")
    mail = {"sender": "nebhx@example.org", "to": ["ops@example.org"]}
    ctx = Context()
    brick("notify.email")(ctx, subject="to the sink", **mail)
    assert _subjects(sink_inbox) == ["to the sink"]
    assert any(f"127.0.0.1:{sink.port}" in line for line in ctx.lines), ctx.lines
    brick("notify.email")(Context(), subject="explicit port", smtp_port=other.port, **mail)
    brick("notify.email")(Context(), subject="explicit both", smtp_host="127.0.0.1",
                          smtp_port=other.port, **mail)
    assert _subjects(other_inbox) == ["explicit port", "explicit both"]
    assert _subjects(sink_inbox) == ["to the sink"]


def test_the_approval_gate_asks_through_the_sink_too(smtp, sink_env):
    (sink, sink_inbox), (other, other_inbox) = smtp
    sink_env(f"0.0.0.0:{sink.port}")  # a sink on every address is reached on loopback
    ctx = Context(run_id="r1", node_id="gate")
    with pytest.raises(WaitFor):
        brick("gate.approval")(ctx, message="Promote?", notify_to=["admin@example.org"])
    assert _subjects(sink_inbox) == ["[nebhx] approval needed: Promote?"]
    with pytest.raises(WaitFor):
        brick("gate.approval")(ctx, message="Again?", notify_to=["admin@example.org"],
                               smtp_host="127.0.0.1", smtp_port=other.port)
    assert _subjects(other_inbox) == ["[nebhx] approval needed: Again?"]


def test_no_server_and_the_sink_off_is_a_clear_failure(sink_env):
    sink_env("off")
    with pytest.raises(BrickFailed, match="mail sink of `nebhx up` is off .*name an SMTP server"):
        brick("notify.email")(Context(), sender="a@example.org", to=["b@example.org"], subject="s")
    sink_env("127.0.0.1:notaport")
    with pytest.raises(BrickFailed, match="no smtp_host given and NEBHX_MAIL_SINK must be host:port"):
        brick("notify.email")(Context(), sender="a@example.org", to=["b@example.org"], subject="s")
