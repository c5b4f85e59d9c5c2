"""Reading the development mail sink's inbox."""
from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from nebhx.mail.schemas import MailMessage
from nebhx.mail.sink import inbox_file
from nebhx.settings import get_settings


def list_messages(*, limit: int = 100, home: Path | None = None) -> list[MailMessage]:
    """The newest ``limit`` messages, newest first (a line that is not a message is skipped:
    the inbox is a file any sink version appended to)."""
    path = inbox_file(home or get_settings().home)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in reversed(lines):
        try:
            out.append(MailMessage.model_validate_json(line))
        except ValidationError:
            continue
        if len(out) >= limit:
            break
    return out
