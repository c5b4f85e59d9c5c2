"""Service locks under contention, on both stores: of several runs asking at once exactly one
holds the lock; a run that ended is taken over by exactly one of the askers."""
from __future__ import annotations

import threading

from nebhx.engine.locks import release_dead, try_lock
from nebhx.statuses import RunStatus
from nebhx.store.db import migrate, session_scope
from nebhx.store.models import GraphRow, RunRow, ServiceLockRow

KEY = {"host": "h1", "service": "web", "instance": ""}


def runs(url: str, n: int) -> list[str]:
    with session_scope(url) as s:
        s.add(GraphRow(id="g", name="g"))
        s.flush()
        for i in range(n):
            s.add(RunRow(id=f"r{i}", graph_id="g", revision=1, status=RunStatus.RUNNING))
    return [f"r{i}" for i in range(n)]


def race(url: str, ids: list[str]) -> dict[str, dict | None]:
    got: dict[str, dict | None] = {}
    start = threading.Barrier(len(ids))

    def ask(run_id: str) -> None:
        start.wait()
        for _ in range(20):  # SQLite may answer "database is locked" to a writer that lost: ask again
            try:
                with session_scope(url) as s:
                    got[run_id] = try_lock(s, KEY, run_id, "switch")
                return
            except Exception as exc:  # noqa: BLE001 - only a busy SQLite is expected here
                assert "locked" in str(exc), exc
    threads = [threading.Thread(target=ask, args=(r,)) for r in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got


def test_one_of_many_askers_holds_the_lock(db_url):
    migrate(db_url)
    ids = runs(db_url, 4)
    got = race(db_url, ids)
    winners = [r for r, holder in got.items() if holder is None]
    assert len(got) == 4 and len(winners) == 1
    assert all(h["run_id"] == winners[0] for r, h in got.items() if r not in winners)

    with session_scope(db_url) as s:  # the holder's run ends: one of the others takes over
        s.get(RunRow, winners[0]).status = RunStatus.CANCELLED
    rest = [r for r in ids if r not in winners]
    again = race(db_url, rest)
    assert len([r for r, h in again.items() if h is None]) == 1
    with session_scope(db_url) as s:
        [row] = s.query(ServiceLockRow).all()
        assert row.run_id in rest
        s.get(RunRow, row.run_id).status = RunStatus.SUCCEEDED
    with session_scope(db_url) as s:  # the sweeper's part: rows of ended runs go
        assert [r["run_id"] for r in release_dead(s)] == [row.run_id]
    with session_scope(db_url) as s:
        assert s.query(ServiceLockRow).count() == 0
