"""The engine's own cost per node, without a broker: claim, brick, record and advance.

    .venv/bin/python bench/engine_inprocess.py   # PostgreSQL (the local server) and SQLite
Runs each node's task body (``execute_node``) in this process, one after another, with
the dispatches it returns, so the figures are the store's and the engine's share of a
node, not Celery's. bench/engine.py measures the whole path beside raw Celery.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]
from support import TEST_BLOCKS, create_pg_database  # noqa: E402


def measure(label: str, repeat: int = 3) -> None:
    from engine import shapes

    from nebhx.engine import celery_app, execute
    from nebhx.graphs.service import ensure_graph
    from nebhx.runs.service import create_run
    from nebhx.store.db import session_scope

    spent: dict[str, float] = defaultdict(float)

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t0
        return wrapper

    from nebhx.engine import claims
    execute._run_brick, claims._record = timed("brick", execute._run_brick), timed("record", claims._record)
    queue: list = []
    celery_app.send = queue.extend  # the dispatches a transaction publishes, run here instead
    for name, doc in shapes().items():
        best = None
        for _ in range(repeat + 1):  # the first run warms caches and connections
            spent.clear()
            with session_scope() as s:
                gid, rev = ensure_graph(s, doc=doc)
                create_run(s, graph_id=gid, revision=rev)
            t0, n = time.perf_counter(), 0
            while queue:
                d = queue.pop(0)
                execute.execute_node(d.run_id, d.node_id, d.attempt)
                n += 1
            per = {k: v / n * 1000 for k, v in spent.items()}
            per["total"] = (time.perf_counter() - t0) / n * 1000
            best = per if best is None or per["total"] < best["total"] else best
        claim = best["total"] - best["brick"] - best["record"]
        print(f"  {label:<11} {name:<14} {best['total']:6.2f} ms/node  (claim {claim:.2f}, brick "
              f"{best['brick']:.2f}, record and advance {best['record']:.2f})", flush=True)


def main() -> None:
    os.environ.update(NEBHX_HOME=tempfile.mkdtemp(prefix="nebhx-bench-"), NEBHX_BLOCKS_PATH=str(TEST_BLOCKS))
    which = sys.argv[1] if len(sys.argv) > 1 else None
    if which == "sqlite":
        measure("sqlite")
        return
    if which is None:  # each store in its own process: settings are read once per process
        for store in ("postgresql", "sqlite"):
            os.spawnv(os.P_WAIT, sys.executable, [sys.executable, __file__, store])
        return
    url, drop = create_pg_database()
    os.environ["NEBHX_DATABASE_URL"] = url
    try:
        measure("postgresql")
    finally:
        drop()


if __name__ == "__main__":
    main()
