"""Every built-in brick says what happens when its node runs again (a retry, or a worker
lost mid-run): nothing more, or what repeats. The palette shows it."""
from __future__ import annotations

from nebhx.bricks.registry import get_registry


def test_every_builtin_brick_declares_what_a_second_run_repeats():
    palette = get_registry().palette()
    builtin = [b for b in palette["bricks"] if b["id"].split(".")[0] not in ("test", "team")
               and not b["id"].startswith("composite:")]
    assert len(builtin) > 30
    undeclared = [b["id"] for b in builtin if b["on_repeat"] is None]
    assert not undeclared, f"say in on_repeat what a second run repeats ('' for nothing): {undeclared}"
    notes = {b["id"]: b["on_repeat"] for b in builtin if b["on_repeat"]}
    assert notes["notify.email"] == "may send the e-mail again"
    assert notes["check.command"] == "runs its command again"
    assert "storage.write_file" not in notes and "release.stage" not in notes
