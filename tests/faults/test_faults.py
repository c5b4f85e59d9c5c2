"""Faults operators meet every week, on a real stack (PostgreSQL, Redis, API, a worker and
an HTTP agent as separate processes), each in the middle of a run of counted bricks.

After each: the run ends (succeeded, or failed naming the fault), no node is lost, no
node's side effect happened more often than its attempts say, and the time from the
fault (or the server's return) to the run moving again is printed.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from fault_servers import Ledger, Postgres, Redis, alive, signal_group
from support import FAST, TEST_BLOCKS, Stack, create_pg_database, graph, make_env, order, wait_for

TERMINAL = {"succeeded", "failed", "skipped", "cancelled"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """API + control worker (host local) on PostgreSQL and a private Redis; agent h1 by HTTP."""
    tmp = tmp_path_factory.mktemp("faults")
    redis = Redis()
    db, drop = create_pg_database()
    stack = Stack(tmp, make_env(tmp, db, redis.url)).start()
    stack.redis, stack.tmp = redis, tmp
    from nebhx.auth.tokens import issue
    from nebhx.store.db import session_scope
    with session_scope(db) as s:
        stack.token = issue(s, kind="host", owner="h1")[1]
    start_agent(stack)
    yield stack
    stack.stop()
    drop()
    redis.stop()


def start_agent(stack: Stack) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}
    env.update(FAST, NEBHX_HOME=str(stack.tmp / "agent-h1"), NEBHX_HOST_HOME=str(stack.tmp / "host-h1"),
               NEBHX_BLOCKS_PATH=str(TEST_BLOCKS), XDG_CONFIG_HOME=str(stack.tmp / "config-h1"))
    log = open(stack.tmp / "agent-h1.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "nebhx.cli.main", "agent", "--host", "h1",
                             "--server", stack.url, "--token", stack.token],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    stack.procs["agent"] = proc
    wait_for(lambda: any(h["name"] == "h1" and h["state"] == "up" for h in stack.client().get("/hosts").json()),
             30, what="agent h1 registered")
    return proc


def counted(name: str, ledger: Ledger, *, a: float = 0.2, c: float = 0.5, host: bool = True) -> dict:
    """a -> (b, c on host h1) -> d, each noting its side effect in the ledger."""
    p = {"ledger": str(ledger.path)}
    c_node = ("c", "test.counted_host", {**p, "seconds": c, "host": "h1"}) if host else \
        ("c", "test.counted", {**p, "seconds": c})
    return graph(name, [("a", "test.counted", {**p, "seconds": a}), ("b", "test.counted", {**p, "seconds": 0.3}),
                        c_node, ("d", "test.counted", {**p, "seconds": 0.1})],
                 [order("a", "b"), order("a", "c"), order("b", "d"), order("c", "d")])


def check_run(stack: Stack, run_id: str, ledger: Ledger, fault: str, timeout: float = 90) -> dict:
    run = stack.wait_run(run_id, timeout)
    assert run["status"] == "succeeded" or fault in (run["error"] or ""), run
    for node_id, node in run["nodes"].items():
        assert node["status"] in TERMINAL, (node_id, node)  # none lost
        starts = ledger.count("START", node_id)
        assert starts <= node["attempt"], (node_id, node["attempt"], ledger.lines())
        if node["status"] == "succeeded":
            assert starts >= 1 and ledger.count("END", node_id) >= 1, (node_id, ledger.lines())
    return run


def report(fault: str, seconds: float) -> None:
    print(f"\nrecovery after {fault}: {seconds:.2f} s", flush=True)


def test_sigkill_worker(cluster, tmp_path):
    ledger = Ledger(tmp_path / "ledger")
    run = cluster.run(counted("kill-worker", ledger, a=3), wait=False)
    ledger.wait_line("START a 1", 30)
    t0 = time.monotonic()
    cluster.kill("worker", signal.SIGKILL)
    cluster.start_worker()  # as `nebhx up` or any supervisor would
    report("worker SIGKILL (to the node running again)", ledger.wait_line("START a 2", 60) - t0)
    done = check_run(cluster, run["id"], ledger, "worker")
    assert done["status"] == "succeeded" and done["nodes"]["a"]["attempt"] == 2


def test_sigkill_agent(cluster, tmp_path):
    ledger = Ledger(tmp_path / "ledger")
    run = cluster.run(counted("kill-agent", ledger, c=3), wait=False)
    ledger.wait_line("START c 1", 30)
    t0 = time.monotonic()
    signal_group(cluster.procs.pop("agent"), signal.SIGKILL)
    start_agent(cluster)
    report("agent SIGKILL (to the node running again)", ledger.wait_line("START c 2", 60) - t0)
    done = check_run(cluster, run["id"], ledger, "h1")
    assert done["status"] == "succeeded" and done["nodes"]["c"]["attempt"] == 2


def overlaps(intervals: dict[int, tuple[float, float]]) -> list[str]:
    spans = sorted(intervals.items(), key=lambda kv: kv[1])
    return [f"attempt {a} still ran {a_end - b_start:.2f} s into attempt {b}"
            for (a, (_, a_end)), (b, (b_start, _)) in zip(spans, spans[1:]) if b_start <= a_end]


@pytest.mark.parametrize("who", ["agent", "worker"])
def test_sigkill_mid_attempt_never_overlaps_the_next(cluster, tmp_path, who):
    """Only the main process is killed (kill -9 PID, the OOM killer): the attempt's command,
    a child of the process running the brick, must be stopped before the next attempt starts."""
    ledger = Ledger(tmp_path / "ledger")
    node = ("tick", "test.ticker_host", {"ledger": str(ledger.path), "seconds": 12, "host": "h1"}) \
        if who == "agent" else ("tick", "test.ticker", {"ledger": str(ledger.path), "seconds": 12})
    run = cluster.run(graph(f"tick-{who}", [node]), wait=False)
    wait_for(lambda: 1 in ledger.intervals("tick"), 30, what="the first attempt's command ticking")
    proc = cluster.procs.pop(who)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=20)
    start_agent(cluster) if who == "agent" else cluster.start_worker()
    done = cluster.wait_run(run["id"], 90)
    spans = ledger.intervals("tick")
    assert done["status"] == "succeeded" and done["nodes"]["tick"]["attempt"] == 2, done
    assert sorted(spans) == [1, 2], spans
    assert not overlaps(spans), overlaps(spans)
    print(f"\n{who} SIGKILL: attempt 1 ticked until {spans[1][1] - spans[1][0]:.2f} s, attempt 2 "
          f"started {spans[2][0] - spans[1][1]:.2f} s after its last tick")


def test_a_node_killing_its_worker_is_bounded_by_retries(cluster, tmp_path):
    ledger = Ledger(tmp_path / "ledger")
    doc = graph("crash-loop", [("crash", "test.crash", {"ledger": str(ledger.path)}, {"retries": 2}),
                               ("after", "test.echo", {"text": "not reached"})], [order("crash", "after")])
    t0 = time.monotonic()
    run = cluster.run(doc, timeout=120)
    assert run["status"] == "failed", run
    crash = run["nodes"]["crash"]
    assert crash["status"] == "failed" and crash["attempt"] == 3, crash
    assert ledger.count("START", "crash") == 3, ledger.lines()
    assert "3 attempts" in crash["error"] and "retries: 2" in crash["error"], crash["error"]
    assert run["nodes"]["after"]["status"] == "skipped"
    print(f"\na node killing its worker, retries 2: failed after 3 attempts in {time.monotonic() - t0:.1f} s")


def test_sigkill_api(cluster, tmp_path):
    ledger = Ledger(tmp_path / "ledger")
    run = cluster.run(counted("kill-api", ledger, c=3), wait=False)
    ledger.wait_line("START c 1", 30)
    cluster.kill("api", signal.SIGKILL)  # the agent's node is running: it must report through the API
    time.sleep(2)
    cluster.spawn("api", "api", "--port", str(cluster.port))
    wait_for(lambda: httpx.get(cluster.url + "/api/health").status_code == 200, 30, what="API back")
    t0 = time.monotonic()
    report("API SIGKILL (API back to the next node starting)", ledger.wait_line("START d 1", 60) - t0)
    done = check_run(cluster, run["id"], ledger, "api")
    assert done["status"] == "succeeded"
    assert done["nodes"]["c"]["attempt"] == 1  # its lease outlived the API's absence
    assert alive(cluster.procs["agent"]) and alive(cluster.procs["worker"])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_redis_restart(cluster, tmp_path, sig):
    """The reported fault: Redis away for 10 s while a node runs; its successors are queued
    during the outage (their publish fails) and must start within seconds of its return."""
    ledger = Ledger(tmp_path / "ledger")
    run = cluster.run(counted(f"redis-{sig.name}", ledger, a=2), wait=False)
    ledger.wait_line("START a 1", 30)
    cluster.redis.stop(sig)
    time.sleep(10)
    cluster.redis.start()
    t0, seen = time.monotonic(), len(ledger.lines())
    report(f"Redis {sig.name} + restart (Redis back to the next node starting)",
           ledger.wait_new_start(seen, 60) - t0)
    done = check_run(cluster, run["id"], ledger, "redis")
    assert done["status"] == "succeeded"
    assert alive(cluster.procs["worker"]) and alive(cluster.procs["agent"]), "a worker or agent exited"
    assert all(n["attempt"] == 1 for n in done["nodes"].values())
    # and they keep serving: a fresh run goes through at once
    again = Ledger(tmp_path / "again")
    assert cluster.run(counted(f"after-{sig.name}", again), timeout=30)["status"] == "succeeded"


def test_postgresql_restart(tmp_path):
    """The store restarts while a node runs: its outcome waits for the store, the run goes on."""
    pg, redis = Postgres(), Redis()
    stack = Stack(tmp_path, make_env(tmp_path, pg.url, redis.url)).start()
    try:
        ledger = Ledger(tmp_path / "ledger")
        run = stack.run(counted("pg-restart", ledger, a=2, host=False), wait=False)
        ledger.wait_line("START a 1", 30)
        pg.stop("fast")
        time.sleep(5)
        pg.start()
        t0 = time.monotonic()
        report("PostgreSQL restart (store back to the next node starting)", ledger.wait_line("START b 1", 60) - t0)
        done = check_run(stack, run["id"], ledger, "database")
        assert done["status"] == "succeeded"
        assert done["nodes"]["a"]["attempt"] == 1  # its outcome was kept, not the node run again
        assert alive(stack.procs["worker"]) and alive(stack.procs["api"])
    finally:
        stack.stop()
        redis.stop()
        pg.destroy()
