"""Round trips to the store, messages and CPU per node of the worker's task body, in process.

    .venv/bin/python bench/roundtrips.py                 # this checkout, PostgreSQL
    .venv/bin/python bench/roundtrips.py --code /tmp/base  # another revision's engine (its backend first)
Runs bench/engine.py's shapes: each message the engine sends goes to the Celery task's own body
(``tasks.run_node``, as a worker runs it) here, one after another. Counts, per node: round trips
to PostgreSQL (psycopg steps that waited on the server's socket: BEGIN, each statement,
COMMIT; not those psycopg settles locally, e.g. a COMMIT outside a transaction), messages
published, and this process's CPU (user+sys). The broker's and Celery's share is not here
(bench/engine.py measures the whole path).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]


def measure(repeat: int = 3) -> None:
    import psycopg
    from engine import shapes

    from nebhx.engine import celery_app, tasks
    from nebhx.graphs.service import ensure_graph
    from nebhx.runs.service import create_run
    from nebhx.store.db import session_scope

    waits = [0]
    real_wait = psycopg.Connection.wait

    def exchange(gen):  # psycopg's steps are generators; one that waits on the socket went to the server
        sent, waited = None, False
        try:
            while True:
                value = gen.send(sent)
                if not waited:
                    waits[0], waited = waits[0] + 1, True
                sent = yield value
        except StopIteration as stop:
            return stop.value

    def counted(self, gen, *args, **kwargs):
        return real_wait(self, exchange(gen), *args, **kwargs)

    psycopg.Connection.wait = counted  # type: ignore[method-assign]
    queue: list = []
    celery_app.send = queue.extend  # the messages a transaction publishes, delivered here instead
    for name, doc in shapes().items():
        best = None
        for _ in range(repeat + 1):  # the first run warms caches and connections
            with session_scope() as s:
                gid, rev = ensure_graph(s, doc=doc)
                create_run(s, graph_id=gid, revision=rev)
            waits[0], sent, cpu0 = 0, len(queue), time.process_time()
            while queue:
                d = queue.pop(0)
                tasks.run_node.run(d.run_id, d.node_id, d.attempt)
            n = len(doc["nodes"])
            row = (waits[0] / n, (time.process_time() - cpu0) / n * 1000, sent)
            best = row if best is None or row[1] < best[1] else best
        print(f"  {name:<14} {best[0]:6.2f} round trips/node  {best[1]:6.2f} ms CPU/node", flush=True)


def main() -> None:
    from support import TEST_BLOCKS, create_pg_database
    if os.environ.get("NEBHX_DATABASE_URL"):
        measure()
        return
    os.environ.update(NEBHX_HOME=tempfile.mkdtemp(prefix="nebhx-bench-"), NEBHX_BLOCKS_PATH=str(TEST_BLOCKS))
    url, drop = create_pg_database()
    code = Path(sys.argv[sys.argv.index("--code") + 1]) if "--code" in sys.argv else ROOT
    try:  # in a process of its own: its engine's code first on the path
        env = {**os.environ, "NEBHX_DATABASE_URL": url, "PYTHONPATH": str(code / "backend")}
        print(f"engine of {code}, PostgreSQL; best of 3 by CPU", flush=True)
        subprocess.run([sys.executable, __file__], env=env, check=True)
    finally:
        drop()


if __name__ == "__main__":
    main()
