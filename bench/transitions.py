"""The state machine's cost per transition, beside the bare compare-and-set it wraps.

    .venv/bin/python bench/transitions.py   # SQLite and PostgreSQL (the local server)
For N nodes of one run, in one transaction each way: a bare UPDATE ... WHERE status (what the
write sites did before ``engine.transitions``), the same with its event (as they did with
``emit``), and ``transitions.transition`` (table check, compare-and-set, typed event). Also the
table check alone, and a fan-out chunk's transitions: queued -> running -> succeeded 50 items a
statement (``claim_many``, ``finish_many``), each transaction its own (as engine.chunks), and a
chain's step per node (pending -> running: ``queue`` then ``claim``, or ``queue_claim`` as a
worker following a chain does; per node, not per transition). Figures are microseconds, best of 5.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests")]
from support import create_pg_database  # noqa: E402

N = 500


def _nodes(url: str, run_id: str) -> None:
    from nebhx.store.db import session_scope
    from nebhx.store.models import GraphRow, NodeRow, RunRow
    with session_scope(url) as s:
        s.merge(GraphRow(id="g", name="g"))
        s.add(RunRow(id=run_id, graph_id="g", revision=1))
        s.flush()
        s.add_all(NodeRow(run_id=run_id, node_id=f"n{i}", brick="test.noop") for i in range(N))


def _bare(s, run_id: str, i: int, event: bool) -> None:
    from sqlalchemy import update

    from nebhx.engine.events import emit
    from nebhx.engine.statements import NODES
    ok = s.execute(update(NODES).where(NODES.c.run_id == run_id, NODES.c.node_id == f"n{i}",
                                       NODES.c.status.in_(["pending"])).values(status="skipped")).rowcount == 1
    if ok and event:
        emit(s, run_id, f"n{i}", "node", "skipped")


def _machine(s, run_id: str, i: int) -> None:
    from nebhx.engine import transitions
    from nebhx.statuses import NodeStatus
    transitions.transition(s, run_id, f"n{i}", NodeStatus.SKIPPED, expect=NodeStatus.PENDING)


def _chunked(url: str, run_id: str) -> float:
    """Seconds per transition of a fan-out's chunk: claimed, then ended, 50 items a statement
    (transitions.claim_many and finish_many, as engine.chunks does), each with its event."""
    from nebhx.engine import transitions
    from nebhx.statuses import NodeStatus
    from nebhx.store.db import session_scope
    ids = [f"n{i}" for i in range(N)]
    with session_scope(url) as s:  # queued first (not timed): attempt 1 each
        transitions.queue(s, run_id, ids, expect=NodeStatus.PENDING, to_queue="nebhx", host=None, due=None,
                          failures=None, countdown=0.0)
    t0 = time.perf_counter()
    for n in range(0, N, 50):
        with session_scope(url) as s:
            transitions.claim_many(s, run_id, [(i, 1) for i in ids[n:n + 50]], until=None, by=None)
        with session_scope(url) as s:
            transitions.finish_many(s, run_id, [(i, 1, "", {}, {"ok": True}) for i in ids[n:n + 50]])
    return (time.perf_counter() - t0) / (2 * N)


def _followed(url: str, run_id: str, together: bool) -> float:
    """Seconds per node of a chain's step: pending -> queued -> running, a transaction each,
    as two statements (``queue`` and then ``claim``, as a message's claim did) or one
    (``queue_claim``, as a worker following the chain does)."""
    from nebhx.engine import transitions
    from nebhx.statuses import NodeStatus
    from nebhx.store.db import session_scope
    t0 = time.perf_counter()
    for i in range(N):
        with session_scope(url) as s:
            if together:
                transitions.queue_claim(s, run_id, f"n{i}", expect=NodeStatus.PENDING, to_queue="nebhx",
                                        until=None, by=None)
            else:
                transitions.queue(s, run_id, [f"n{i}"], expect=NodeStatus.PENDING, to_queue="nebhx", host=None,
                                  due=None, failures=None, countdown=0.0)
                transitions.claim(s, run_id, f"n{i}", 1, until=None, on_host=None, by=None)
    return (time.perf_counter() - t0) / N


def measure(label: str, url: str) -> None:
    from nebhx.store.db import session_scope
    ways = {"bare compare-and-set": lambda s, r, i: _bare(s, r, i, False),
            "compare-and-set + event": lambda s, r, i: _bare(s, r, i, True),
            "transitions.transition": _machine}
    best = {name: float("inf") for name in ways}
    for round_ in range(5):
        for name, way in ways.items():
            run_id = f"{name[:4]}{round_}".replace(" ", "")
            _nodes(url, run_id)
            t0 = time.perf_counter()
            with session_scope(url) as s:
                for i in range(N):
                    way(s, run_id, i)
            best[name] = min(best[name], (time.perf_counter() - t0) / N * 1e6)
    chunked = float("inf")
    for round_ in range(5):
        _nodes(url, f"chunk{round_}")
        chunked = min(chunked, _chunked(url, f"chunk{round_}") * 1e6)
    best["claim_many + finish_many"] = chunked
    from nebhx.engine import transitions
    ways = {"queue, then claim": False, "queue_claim": True} if hasattr(transitions, "queue_claim") else {}
    for name, together in ways.items():  # per node: pending -> running, both events
        best[name] = float("inf")
        for round_ in range(5):
            run_id = f"follow{int(together)}{round_}"
            _nodes(url, run_id)
            best[name] = min(best[name], _followed(url, run_id, together) * 1e6)
    for name, us in best.items():
        print(f"  {label:<11} {name:<24} {us:8.1f} us/{'node' if name.startswith('queue') else 'transition'}")
    print(f"  {label:<11} the state machine's own share: {best['transitions.transition'] - best['compare-and-set + event']:+.1f} us")


def table_check() -> None:
    from nebhx.engine.transitions import expected
    from nebhx.statuses import NodeStatus
    t0 = time.perf_counter()
    for _ in range(100_000):
        expected(NodeStatus.RUNNING, NodeStatus.SUCCEEDED)
    print(f"  table check alone: {(time.perf_counter() - t0) / 100_000 * 1e6:.2f} us")


def main() -> None:
    table_check()
    measure("sqlite", f"sqlite:///{Path(tempfile.mkdtemp(prefix='nebhx-bench-')) / 'store.db'}")
    url, drop = create_pg_database()
    try:
        measure("postgresql", url)
    finally:
        from nebhx.store.db import get_engine
        get_engine(url).dispose()
        drop()


if __name__ == "__main__":
    main()
