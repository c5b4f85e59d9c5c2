"""1,000 address allocations from one pool by 20 concurrent workers, on SQLite and PostgreSQL.

    .venv/bin/python bench/ipam.py [sqlite|pg]
Each worker is its own process with its own connections (as 20 control workers running 20
runs' net.allocate nodes would be) and allocates 50 addresses for 50 owners through
``nebhx.ipam.service.allocate``. Prints wall time, allocations per second, per-allocation
latency (median, p95, max) and the number of duplicates (must be 0), then checks the pool's
count in the store.
"""
from __future__ import annotations

import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from support import create_pg_database  # noqa: E402

WORKERS, EACH = 20, 50
POOL, CIDR = "bench", "10.200.0.0/20"  # 4094 usable addresses


def worker(args: tuple[str, int, mp.synchronize.Barrier]) -> list[tuple[str, float]]:
    url, w, barrier = args
    from nebhx.ipam.service import allocate
    allocate(POOL, f"warm-{w}", url=url)  # connect and migrate-check before the clock starts
    barrier.wait()
    out = []
    for i in range(EACH):
        t0 = time.perf_counter()
        got, _new = allocate(POOL, f"w{w}/{i}", url=url)
        out.append((got["address"], time.perf_counter() - t0))
    return out


def bench(kind: str, url: str) -> None:
    from nebhx.ipam.service import declare_pool, pool_view
    from nebhx.store.db import session_scope
    with session_scope(url) as s:
        declare_pool(s, POOL, CIDR)
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(WORKERS + 1)
        with ctx.Pool(WORKERS) as pool:
            pending = pool.map_async(worker, [(url, w, barrier) for w in range(WORKERS)])
            barrier.wait()
            t0 = time.perf_counter()
            results = pending.get(timeout=600)
            wall = time.perf_counter() - t0
    got = [a for r in results for a, _ in r]
    lat = sorted(dt for r in results for _, dt in r)
    with session_scope(url) as s:
        stored = pool_view(s, POOL)["allocated"] - WORKERS  # less the warm-up allocations
    print(f"{kind:6} {len(got)} allocations by {WORKERS} workers in {wall:.2f} s "
          f"({len(got) / wall:.0f}/s); latency median {statistics.median(lat) * 1000:.1f} ms, "
          f"p95 {lat[int(len(lat) * 0.95)] * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms; "
          f"duplicates {len(got) - len(set(got))}; stored {stored}")
    assert len(set(got)) == len(got) == stored == WORKERS * EACH


def main() -> None:
    only = sys.argv[1] if len(sys.argv) > 1 else None
    if only in (None, "sqlite"):
        with tempfile.TemporaryDirectory(prefix="nebhx-ipam-") as tmp:
            bench("sqlite", f"sqlite:///{tmp}/store.db")
    if only in (None, "pg"):
        url, drop = create_pg_database()
        try:
            bench("pg", url)
        finally:
            drop()


if __name__ == "__main__":
    main()
