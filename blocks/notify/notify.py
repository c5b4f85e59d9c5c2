"""Notification bricks: tell people (e-mail) and systems (webhooks) what a run did."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from nebhx import Brick, BrickFailed, Context, Ports, Secret, Url
from nebhx.runtime.notify import mail_server, post_webhook, send_email


class Email(Brick):
    """Send a plain-text e-mail through an SMTP server.

    Connects to `smtp_host:smtp_port` (by default the development mail sink that `nebhx up`
    runs, NEBHX_MAIL_SINK, 127.0.0.1:2525 unless set: `nebhx mail` shows what it received;
    a host given without a port is reached on 25), upgrades to TLS
    first when `starttls` is on, logs in when `username` is set, and sends one message
    to every address in `to`.
    Fails when the server refuses the login, the sender or every recipient.

    The password is a Secret: it is only handed to the SMTP login and never appears
    in logs, errors or outputs. Wire `subject` and `body` from a **Template** brick
    to put run details in the message.
    """

    id = "notify.email"
    on_repeat = 'may send the e-mail again'
    title = "E-mail"
    category = "notify"

    class Inputs(Ports):
        smtp_host: str | None = Field(default=None, description="SMTP server name or address; "
                                      "by default the development mail sink of `nebhx up`")
        smtp_port: int | None = Field(default=None, ge=1, le=65535, description="25, 587 (with "
                                      "starttls), ...; by default the mail sink's port "
                                      "(NEBHX_MAIL_SINK), or 25 for another smtp_host")
        starttls: bool = Field(default=False, description="Upgrade the connection to TLS before login")
        username: str | None = Field(default=None, description="SMTP login, if the server needs one")
        password: Secret | None = Field(default=None, description="Password of the login")
        sender: str = Field(description="From address, e.g. nebhx@example.org")
        to: list[str] = Field(min_length=1, description="Recipient addresses")
        subject: str = Field(description="Subject line")
        body: str = Field(default="", description="Message text")

    class Outputs(Ports):
        message_id: str
        accepted: list[str]

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        password = inputs.password.get_secret_value() if inputs.password else None
        host, port = mail_server(inputs.smtp_host, inputs.smtp_port)
        ctx.log("mailing %r to %s via %s:%d%s", inputs.subject, ", ".join(inputs.to),
                host, port, f" as {inputs.username}" if inputs.username else "")
        result = send_email(host, port, inputs.sender, list(inputs.to),
                            inputs.subject, inputs.body, starttls=inputs.starttls,
                            username=inputs.username, password=password)
        if not result["accepted"]:
            raise BrickFailed(f"the server refused every recipient: {', '.join(result['refused'])}")
        if result["refused"]:
            ctx.log("refused recipients: %s", ", ".join(result["refused"]))
        ctx.log("sent %s", result["message_id"])
        return self.Outputs(message_id=result["message_id"], accepted=result["accepted"])


class Webhook(Brick):
    """POST a JSON document to a URL (chat hooks, incident tools, your own API).

    Succeeds on a 2xx answer; any other status fails the node with the status and
    the start of the reply. `headers` may carry fixed headers; put a token in
    `token` (a Secret) to send it as `Authorization: Bearer <token>` without it
    showing up in logs or outputs.
    """

    id = "notify.webhook"
    on_repeat = 'may call the webhook again'
    title = "Webhook"
    category = "notify"

    class Inputs(Ports):
        url: Url = Field(description="Where to POST")
        payload: dict[str, Any] = Field(default_factory=dict, description="JSON document to send")
        headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers")
        token: Secret | None = Field(default=None, description="Sent as 'Authorization: Bearer ...'")
        timeout_s: float = Field(default=10, gt=0, description="Time limit of the request")

    class Outputs(Ports):
        status: int
        body: str
        elapsed_ms: float

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        headers = dict(inputs.headers)
        if inputs.token:
            headers["Authorization"] = f"Bearer {inputs.token.get_secret_value()}"
        ctx.log("POST %s", inputs.url)
        result = post_webhook(inputs.url, inputs.payload, headers, inputs.timeout_s)
        ctx.log("answer %d in %.0f ms", result.status, result.elapsed_ms)
        if not 200 <= result.status < 300:
            raise BrickFailed(f"webhook {inputs.url} answered {result.status}: {ctx.mask(result.body)[:200]}")
        return self.Outputs(status=result.status, body=result.body, elapsed_ms=result.elapsed_ms)
