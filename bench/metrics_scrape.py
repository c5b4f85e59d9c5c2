"""Cost of one GET /metrics scrape as the store grows (the collector reads the store each time).

    .venv/bin/python bench/metrics_scrape.py [RUNS ...]
A SQLite store filled with RUNS finished runs of 5 nodes each (direct inserts, as a long-lived
control plane would hold them), then the collector's text rendered 5 times: best and median ms.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import timedelta

from prometheus_client import generate_latest

from nebhx.metrics.collector import registry
from nebhx.statuses import NodeStatus, RunStatus
from nebhx.store.db import migrate, session_scope
from nebhx.store.models import GraphRow, NodeRow, RunRow, utcnow


def fill(url: str, runs: int) -> None:
    now = utcnow()
    with session_scope(url) as s:
        s.add(GraphRow(id="g", name="bench"))
        s.flush()
        s.add_all(RunRow(id=f"r{r}", graph_id="g", revision=1, status=RunStatus.SUCCEEDED) for r in range(runs))
        s.flush()
        for r in range(runs):
            for n in range(5):
                s.add(NodeRow(run_id=f"r{r}", node_id=f"n{n}", brick="rollout.switch" if n == 2 else "test.noop",
                              status=NodeStatus.SUCCEEDED, queued_at=now, started_at=now + timedelta(milliseconds=5),
                              finished_at=now + timedelta(milliseconds=50 * (n + 1))))


def main(sizes: list[int]) -> None:
    for runs in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/store.db"
            migrate(url)
            fill(url, runs)
            times = []
            for _ in range(5):
                start = time.perf_counter()
                body = generate_latest(registry(url))
                times.append((time.perf_counter() - start) * 1000)
            print(f"{runs:>6} runs ({runs * 5:>6} nodes): scrape best {min(times):7.1f} ms, "
                  f"median {statistics.median(times):7.1f} ms, {len(body)} bytes")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 5000])
