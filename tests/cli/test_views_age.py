"""Issue 17, item 8: the services and releases views showed stale rows as fresh. Each row now
says when its host's agent looked at it (`seen`), in `nebhx services` and `nebhx releases`."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from rich.console import Console

from nebhx.cli import releases as releases_cli
from nebhx.cli import runs as runs_cli
from nebhx.cli.client import seen_ago


def _at(seconds_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).isoformat()


def test_seen_ago_words():
    now = datetime(2026, 12, 7, 14, 0, 30, tzinfo=timezone.utc).timestamp()
    assert seen_ago("2026-12-07T14:00:27.500000+00:00", now) == "2 s ago"
    assert seen_ago("2026-12-07T13:50:30Z", now) == "10 min ago"
    assert seen_ago("2026-12-07T10:00:30+00:00", now) == "4 h ago"
    assert seen_ago(None, now) == "never"


def test_services_and_releases_tables_show_each_rows_age(monkeypatch, capsys):
    rows = [{"host": "h1", "host_state": "up", "service": "web", "instance": "a", "release": "a1",
             "state": "RUNNING", "last_probe": {"ok": True}, "address": "h1:8110", "seen_at": _at(3),
             "active": "a1", "releases": [{"id": "a1", "active": True}], "health": {"ok": True}},
            {"host": "h2", "host_state": "down", "service": "web", "instance": None, "release": "b1",
             "state": "RUNNING", "last_probe": {"ok": True}, "address": "h2:8110", "seen_at": _at(600),
             "active": "b1", "releases": [], "health": {"ok": True}}]
    wide = Console(width=250)
    for module in (runs_cli, releases_cli):
        monkeypatch.setattr(module, "call", lambda *a, **k: rows)
        monkeypatch.setattr(module, "console", wide)
    runs_cli.services(as_json=False)
    releases_cli.releases(host=None, service=None, as_json=False)
    out = capsys.readouterr().out
    assert len(re.findall(r"\b[3-9] s ago", out)) == 2 and out.count("10 min ago") == 2, out
