"""Host nodes through the execution API beside the direct database path.

    .venv/bin/python bench/agent_api.py
One stack (Redis + PostgreSQL, API with the sweep); the shapes of bench/engine.py made of
a no-op *host* brick routed to host h1, whose agent is, in turn, (a) a worker with the
database URL and the key (``nebhx agent --host h1``) and (b) an agent with only the API's
URL and a host token (``nebhx agent --host h1 --server URL``). Same concurrency, best of 5,
alternating a/b so the machine's noise falls on both.
"""
from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]
from support import Stack, create_pg_database, graph, make_env, order, start_redis, wait_for  # noqa: E402

CONCURRENCY = "4"
ONLY = sys.argv[1] if len(sys.argv) > 1 else None  # e.g. "chain"
HOST = {"host": "h1"}


def shapes(only: str | None = None) -> dict[str, dict]:
    n = lambda i: (i, "test.host_noop", HOST)  # noqa: E731
    chain = graph("chain50", [n(f"n{i}") for i in range(50)], [order(f"n{i-1}", f"n{i}") for i in range(1, 50)])
    layers = graph("layers10x10", [n(f"l{l}_{i}") for l in range(10) for i in range(10)],
                   [order(f"l{l-1}_{a}", f"l{l}_{b}") for l in range(1, 10) for a in range(10) for b in range(10)])
    fan = graph("fan200", [n("src"), n("sink")] + [n(f"f{i}") for i in range(200)],
                [order("src", f"f{i}") for i in range(200)] + [order(f"f{i}", "sink") for i in range(200)])
    out = {"chain 50": chain, "layers 10x10": layers, "1->200->1": fan}
    return {k: v for k, v in out.items() if not only or only in k}


def start_agent(stack: Stack, mode: str, token: str) -> None:
    if mode == "direct":
        stack.spawn("agent", "agent", "--host", "h1", "-c", CONCURRENCY)
    else:
        env = {k: v for k, v in stack.env.items() if k not in ("NEBHX_DATABASE_URL", "NEBHX_BROKER_URL")}
        env.update(NEBHX_AGENT_TOKEN=token, NEBHX_HOME=str(stack.home / "agent"))
        saved, stack.env = stack.env, env
        try:
            stack.spawn("agent", "agent", "--host", "h1", "--server", stack.url, "-c", CONCURRENCY)
        finally:
            stack.env = saved
    wait_for(lambda: any(h["name"] == "h1" and h["state"] == "up" for h in stack.client().get("/hosts").json()),
             30, what="h1 registered")
    warm = stack.run(graph(f"warm-{mode}", [("w", "test.host_noop", HOST)]), timeout=60)
    assert warm["status"] == "succeeded", warm["error"]


def timed(stack: Stack, doc: dict) -> float:
    run = stack.run(doc, wait=False)
    run = wait_for(lambda: (r := stack.get_run(run["id"]))["finished_at"] and r, 600, 0.5)
    assert run["status"] == "succeeded", run["error"]
    return (datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["created_at"])).total_seconds()


def main() -> None:
    redis_proc, broker = start_redis()
    db, drop = create_pg_database()
    home = Path(tempfile.mkdtemp(prefix="nebhx-bench-agent-"))
    stack = Stack(home, make_env(home, db, broker, NEBHX_WORKER_CONCURRENCY=CONCURRENCY)).start()
    from nebhx.auth.tokens import issue
    from nebhx.store.db import session_scope
    with session_scope(db) as s:
        token = issue(s, kind="host", owner="h1")[1]
    best: dict[tuple[str, str], float] = {}
    try:
        for _ in range(5):
            for mode in ("direct", "execution API"):
                start_agent(stack, mode, token)
                for name, doc in shapes(ONLY).items():
                    wall = timed(stack, doc)
                    best[(mode, name)] = min(best.get((mode, name), wall), wall)
                stack.kill("agent", signal.SIGTERM)
        print(f"host nodes on one agent, concurrency {CONCURRENCY}, Redis + PostgreSQL, best of 5")
        for name, doc in shapes(ONLY).items():
            a, b = best[("direct", name)], best[("execution API", name)]
            per = lambda t: t / len(doc["nodes"]) * 1000  # noqa: E731
            print(f"  {name:<14} direct {per(a):6.2f} ms/node   execution API {per(b):6.2f} ms/node"
                  f"   ratio {b / a:4.2f}x")
    finally:
        stack.stop()
        drop()
        redis_proc.terminate()


if __name__ == "__main__":
    t0 = time.monotonic()
    main()
    print(f"({time.monotonic() - t0:.0f} s)")
    sys.stdout.flush()
    os._exit(0)
