"""Recovery time: from a fault to the run moving again, with the default timings.

    .venv/bin/python bench/recovery.py [repeats]

A stack of its own (PostgreSQL database on the local server, a private Redis, API + sweep
and a worker as processes) runs counted bricks (tests/testbricks/faults.py):
- Redis SIGKILL, 10 s away, restarted: from Redis back to the next node starting;
- worker SIGKILL, restarted at once (as `nebhx up` does): from the kill to the killed node
  running again, which waits for its lease to expire (lease_s).
"""
from __future__ import annotations

import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "faults")]
from fault_servers import Ledger, Redis  # noqa: E402
from support import Stack, create_pg_database, graph, make_env, order  # noqa: E402

DEFAULTS = {"NEBHX_HEARTBEAT_S": "2", "NEBHX_LEASE_S": "15", "NEBHX_SWEEP_INTERVAL_S": "2",
            "NEBHX_RETRY_BASE_S": "1"}  # the Settings defaults, over the tests' FAST timings


def chain(name: str, ledger: Ledger, first_s: float) -> dict:
    p = {"ledger": str(ledger.path)}
    return graph(name, [("a", "test.counted", {**p, "seconds": first_s}), ("b", "test.counted", {**p, "seconds": 0.1})],
                 [order("a", "b")])


def redis_restart(stack: Stack, redis: Redis, tmp: Path, i: int) -> float:
    ledger = Ledger(tmp / f"redis-{i}")
    run = stack.run(chain(f"redis-{i}", ledger, 2), wait=False)
    ledger.wait_line("START a 1", 30)
    redis.stop(signal.SIGKILL)
    time.sleep(10)
    redis.start()
    t0, seen = time.monotonic(), len(ledger.lines())
    took = ledger.wait_new_start(seen, 120) - t0
    assert stack.wait_run(run["id"], 60)["status"] == "succeeded"
    return took


def worker_kill(stack: Stack, tmp: Path, i: int) -> float:
    ledger = Ledger(tmp / f"worker-{i}")
    run = stack.run(chain(f"worker-{i}", ledger, 5), wait=False)
    ledger.wait_line("START a 1", 30)
    t0 = time.monotonic()
    stack.kill("worker", signal.SIGKILL)
    stack.start_worker()
    took = ledger.wait_line("START a 2", 120) - t0
    assert stack.wait_run(run["id"], 60)["status"] == "succeeded"
    return took


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    tmp = Path(tempfile.mkdtemp(prefix="nebhx-recovery-"))
    redis = Redis()
    db, drop = create_pg_database()
    stack = Stack(tmp, make_env(tmp, db, redis.url, **DEFAULTS)).start()
    try:
        for label, fn in (("Redis SIGKILL, 10 s, restart", lambda i: redis_restart(stack, redis, tmp, i)),
                          ("worker SIGKILL, restarted", lambda i: worker_kill(stack, tmp, i))):
            times = [fn(i) for i in range(repeats)]
            print(f"{label:<30} recovery median {statistics.median(times):5.2f} s  "
                  f"(min {min(times):.2f}, max {max(times):.2f}, n={repeats}; lease 15 s, sweep 2 s)", flush=True)
    finally:
        stack.stop()
        drop()
        redis.stop()


if __name__ == "__main__":
    main()
