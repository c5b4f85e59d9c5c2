"""A service's log as the agent reads it (nebhx.agent.host_ops): bounded, from an offset,
and from the start again after supervisord rotated the file."""
from __future__ import annotations

from nebhx.agent.host_ops import _tail, run_op
from nebhx.runtime import HostRuntime


def test_tail_is_bounded_follows_offsets_and_survives_rotation(tmp_path):
    log = tmp_path / "web.out.log"
    log.write_text("".join(f"line {i}\n" for i in range(10_000)))
    first = _tail(log, None, 1000)
    assert len(first["text"]) <= 1000 and first["text"].startswith("line ") and first["text"].endswith("line 9999\n")
    assert first["offset"] == log.stat().st_size
    with log.open("a") as f:
        f.write("new one\n")
    assert _tail(log, first["offset"], 1000) == {"text": "new one\n", "offset": first["offset"] + 8, "skipped": 0}
    with log.open("a") as f:
        f.write("x" * 5000 + "\nlast\n")
    flood = _tail(log, first["offset"] + 8, 1000)
    assert flood["skipped"] > 0 and flood["text"] == "last\n"  # the cut line is dropped
    log.write_text("after rotation\n")  # shorter than the offset: a new file
    assert _tail(log, flood["offset"], 1000)["text"] == "after rotation\n"
    assert _tail(tmp_path / "none.log", None, 1000) == {"text": "", "offset": 0, "skipped": 0}


def test_an_unknown_service_or_release_is_an_answer_not_a_crash(tmp_path):
    rt = HostRuntime("h1", tmp_path)
    assert run_op(rt, {"op": "log", "service": "web"}) == {"error": "host h1 runs no service 'web'"}
    assert "no staged release 'r1'" in run_op(rt, {"op": "pin", "service": "web", "release": "r1"})["error"]
    assert run_op(rt, {"op": "format-disk"}) == {"error": "unknown host operation 'format-disk'"}
