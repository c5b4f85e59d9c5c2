"""A development mail sink: an SMTP server (aiosmtpd) on 127.0.0.1:2525 that accepts every
message and appends it to ``$NEBHX_HOME/mail/inbox.jsonl``, one JSON object a line.

``nebhx up`` runs it unless ``--no-mail-sink`` or ``NEBHX_MAIL_SINK=off``; the bundled
examples send their e-mails there. Nothing is relayed anywhere.
"""
from __future__ import annotations

import email
import email.policy
import fcntl
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from nebhx.settings import parse_mail_sink

DEFAULT = "127.0.0.1:2525"


class MailSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEBHX_", extra="ignore")
    # host:port the sink listens on, or "off" (the same value Settings.mail_sink reads).
    mail_sink: str = DEFAULT

    def address(self) -> tuple[str, int] | None:
        return parse_mail_sink(self.mail_sink)


def inbox_file(home: Path) -> Path:
    return Path(home) / "mail" / "inbox.jsonl"


def parse(raw: bytes, mail_from: str, rcpt_tos: list[str], peer: Any = None) -> dict[str, Any]:
    """A stored message: subject, from, to, date, text body (the first text/plain part)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = msg.get_body(preferencelist=("plain", "html"))
    text = part.get_content() if part is not None else ""
    return {"id": uuid.uuid4().hex[:12],
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "from": str(msg.get("From") or mail_from), "to": list(rcpt_tos),
            "subject": str(msg.get("Subject") or ""), "message_id": str(msg.get("Message-ID") or ""),
            "text": text, "peer": str(peer[0]) if isinstance(peer, tuple) else str(peer or "")}


def store(path: Path, message: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps(message) + "\n")


class Keeper:
    """aiosmtpd handler: every message is accepted and stored."""

    def __init__(self, path: Path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        store(self.path, parse(envelope.original_content or envelope.content, envelope.mail_from,
                               envelope.rcpt_tos, session.peer))
        return "250 OK: kept by the Nebh-X mail sink"


def start(home: Path, host: str, port: int):
    """Start the sink in a thread; returns the aiosmtpd Controller (``.stop()`` it)."""
    from aiosmtpd.controller import Controller
    controller = Controller(Keeper(inbox_file(home)), hostname=host, port=port,
                            server_hostname="nebhx-mail-sink", ready_timeout=10)
    controller.start()
    return controller
