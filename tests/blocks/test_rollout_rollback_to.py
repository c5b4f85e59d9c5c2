"""Issue 21, item 5: roll back to a chosen release, not only the previous one. A real service
under a real supervisord goes 1.0.0 -> 2.0.0 -> 3.0.0 by rollout.switch (each with its own
config and a snapshot of its data), then back two releases to 1.0.0: its process serves
1.0.0 with 1.0.0's config, and with restore_snapshot the data as 1.0.0 left it."""
from __future__ import annotations

import pytest

from nebhx import BrickFailed
from test_rollout import app, brick, get, profiles
from test_rollout_undo import Live


@pytest.fixture
def live(tmp_path):
    """Instance a of web on host h1, started by service.run on release 1.0.0."""
    h = Live(tmp_path, "a")
    h.start_v1()
    yield lambda _inst: h
    h.rt.supervisor.shutdown()


def _release(h: Live, version: str, greeting: str) -> None:
    """Stage ``version`` with its own config, then switch instance a to it (snapshotting the data)."""
    out = brick("rollout.prepare")(h.ctx("prep"), host="h1", service="web", release_id=version,
                                   source=_src(h, version), profiles=profiles(greeting), profile="web")
    sw = h.switch(run=f"deploy-{version}", port=h.port, volume="web-data", ready_http="/health",
                  release_id=out.release_id, config_version=out.config_version)
    assert sw.changed and get(h.port)["version"] == version


def _src(h: Live, version: str) -> str:
    folder = h.tmp / f"src-{version}"
    return str(folder) if folder.exists() else app(h.tmp, version)


def _message(h: Live, text: str) -> None:
    (h.rt.volumes.open("web-data").path / "message.txt").write_text(text)


def test_roll_back_two_releases_to_a_chosen_one_with_its_config_and_data(live):
    h = live("a")
    _message(h, "written by 1.0.0")
    _release(h, "2.0.0", "hello from two")
    _message(h, "written by 2.0.0")
    _release(h, "3.0.0", "hello from three")
    _message(h, "written by 3.0.0")
    h.rt.releases.pin("web", "1.0.0")  # a pinned release is a candidate like any other
    assert get(h.port)["greeting"] == "hello from three"

    # The plan says what comes back, touching nothing.
    plan = brick("rollout.rollback").plan(h.ctx("plan"), {"host": "h1", "service": "web", "instance": "a",
                                                           "release_id": "1.0.0", "data_policy": "restore_snapshot"})
    assert plan["release"] == {"before": "3.0.0", "after": "1.0.0"}, plan
    assert plan["changes"] and "back to release 1.0.0" in plan["effect"] and plan["restore"]["volume"] == "web-data"
    assert get(h.port)["version"] == "3.0.0"

    gone = h.seen()
    with pytest.raises(BrickFailed, match=r"release '0\.9\.0' of 'web' is no longer staged on host h1 .*"
                                          r"staged: 1\.0\.0, 2\.0\.0, 3\.0\.0\): nothing was changed"):
        h.rollback(run="by-hand", release_id="0.9.0")
    assert h.seen() == gone

    out = h.rollback(run="by-hand", release_id="1.0.0", data_policy="restore_snapshot")
    assert out.rolled_back and out.changed and out.release_id == "1.0.0"
    served = get(h.port)
    assert (served["version"], served["greeting"], served["message"]) == ("1.0.0", "hello", "written by 1.0.0")
    assert out.restored_snapshot and out.pre_restore and out.pid != out.pid_before
    assert out.summary == (f"h1: web-a rolled back from 3.0.0 to 1.0.0 (data: restore_snapshot, "
                           f"snapshot {out.restored_snapshot} restored)")
    assert h.rt.releases.current("web") == "1.0.0" and h.record()["release"] == "1.0.0"
    again = h.rollback(run="by-hand", release_id="1.0.0", data_policy="restore_snapshot")
    assert not again.changed and get(h.port)["message"] == "written by 1.0.0"  # never restored twice

    # Then forward again by a switch, and back to 2.0.0 keeping the new data.
    _release(h, "3.0.0", "hello from three")
    back = h.rollback(run="by-hand-2", release_id="2.0.0")
    served = get(h.port)
    assert back.changed and (served["version"], served["greeting"]) == ("2.0.0", "hello from two")
    assert served["message"] == "written by 1.0.0"  # keep_new: the data as it is
