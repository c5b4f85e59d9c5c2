"""Reading the development mail sink's inbox."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nebhx.mail.sink import inbox_file
from nebhx.settings import get_settings


def list_messages(limit: int = 100, home: Path | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` messages, newest first (a line that is not JSON is skipped)."""
    path = inbox_file(home or get_settings().home)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in reversed(lines):
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
        if len(out) >= limit:
            break
    return out
