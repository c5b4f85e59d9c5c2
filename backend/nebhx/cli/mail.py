"""``nebhx mail``: what the development mail sink of ``nebhx up`` received."""
from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.markup import escape

from nebhx.cli.client import call

console = Console()


def mail(limit: int = typer.Option(20, help="At most this many messages (1..1000)"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Show the e-mails the development mail sink received (127.0.0.1:2525), newest first."""
    messages = call("GET", "/mail", params={"limit": limit})
    if as_json:
        print(json.dumps(messages, indent=2))
        return
    if not messages:
        console.print("no mail yet (the sink of `nebhx up` listens on NEBHX_MAIL_SINK, default 127.0.0.1:2525)")
        return
    for m in messages:
        console.print(f"[bold]{escape(m['subject'])}[/]  [dim]{m['date']}[/]", soft_wrap=True)
        console.print(f"from {escape(m['from'])} to {escape(', '.join(m['to']))}", soft_wrap=True)
        console.print(escape(m["text"].rstrip()), soft_wrap=True)
        console.print()
