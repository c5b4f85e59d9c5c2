"""Notifications: SMTP e-mail (smtplib) and JSON webhooks (httpx).

Both raise ``BrickFailed`` with a reason an operator can act on. A password is only
ever handed to ``smtplib.login``; it is scrubbed from any error text before raising.
"""
from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import httpx

from nebhx.bricks.errors import BrickFailed
from nebhx.settings import get_settings

EXCERPT = 500
SMTP_PORT = 25  # a server named without a port
_ANY = {"0.0.0.0", "::", ""}  # a sink listening on every address is reached on loopback


def mail_server(host: str | None, port: int | None) -> tuple[str, int]:
    """The SMTP server an e-mail brick sends through: what it was given, else the mail sink
    `nebhx up` runs (NEBHX_MAIL_SINK, by default 127.0.0.1:2525). A port left out is the
    sink's when the host is the sink's (or left out too), else 25."""
    try:
        sink = get_settings().mail_sink_address()
    except ValueError as exc:
        sink = None
        if host is None:
            raise BrickFailed(f"no smtp_host given and {exc}") from None
    if sink is not None:
        sink = ("127.0.0.1" if sink[0] in _ANY else sink[0], sink[1])
    if host is None:
        if sink is None and port is None:
            raise BrickFailed("no smtp_host/smtp_port given and the mail sink of `nebhx up` is "
                              "off (NEBHX_MAIL_SINK=off): name an SMTP server")
        host = sink[0] if sink else "127.0.0.1"
    if port is None:
        port = sink[1] if sink and host == sink[0] else SMTP_PORT
    return host, port


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "******") if secret else text


def send_email(host: str, port: int, sender: str, to: list[str], subject: str, body: str,
               starttls: bool = False, username: str | None = None, password: str | None = None,
               timeout: float = 30) -> dict[str, Any]:
    """Send one plain-text message; returns its Message-ID and the accepted recipients."""
    if not to:
        raise BrickFailed("no recipients")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, ", ".join(to), subject
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(body)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.ehlo()
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if username:
                smtp.login(username, password or "")
            refused = smtp.send_message(msg, from_addr=sender, to_addrs=to)
    except smtplib.SMTPAuthenticationError as exc:
        raise BrickFailed(f"SMTP login as {username!r} at {host}:{port} was refused "
                          f"({exc.smtp_code})") from None
    except (smtplib.SMTPException, OSError) as exc:
        reason = _scrub(f"{type(exc).__name__}: {exc}", password)
        raise BrickFailed(f"sending e-mail via {host}:{port} failed: {reason}") from None
    accepted = [r for r in to if r not in refused]
    return {"message_id": msg["Message-ID"], "accepted": accepted, "refused": sorted(refused)}


@dataclass
class WebhookResult:
    status: int
    body: str
    elapsed_ms: float


def post_webhook(url: str, json: Any, headers: dict[str, str] | None = None,
                 timeout: float = 10) -> WebhookResult:
    """POST ``json`` to ``url``; returns status, the start of the reply and the time taken.

    A non-2xx answer is returned, not raised: the caller decides what counts as failure.
    """
    start = time.monotonic()
    try:
        # trust_env=False: an environment proxy must not silently reroute the hook.
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            resp = client.post(url, json=json, headers=headers or {})
    except httpx.HTTPError as exc:
        raise BrickFailed(f"webhook {url} failed: {type(exc).__name__}: {exc}") from None
    return WebhookResult(resp.status_code, resp.text[:EXCERPT],
                         round((time.monotonic() - start) * 1000, 1))
