"""Issue 21's fan-out alone: one node ``for_each`` over 1,000 items, time per item.

    .venv/bin/python bench/fanout.py [--items N] [--rounds R] [--baseline DIR]
    .venv/bin/python bench/fanout.py --inprocess [--profile]
Stack mode (default): as bench/fleet.py's fan-out part, without the 100 hosts: PostgreSQL (a
database of its own per stack), Redis, the API with the sweep and one control worker as
processes; test.sleep 0 s; every item's state a row (counted after). Per item: wall time
(the server's own times), the control plane's CPU (API + worker), and PostgreSQL's own
counters for the run's database (transactions and rows read, pg_stat_database, read once
the stack stopped so every backend flushed them). ``--baseline DIR`` (a checkout of another
revision, `git worktree add --detach DIR main`) runs its engine too, round by round
alternating with this one, on the same machine at the same time: quote the ratio.

In-process mode: each node's task body (``execute_node``) run in this process one after
another, as bench/engine_inprocess.py does: SQL statements per item by kind, and with
``--profile`` where the time goes (cProfile, by cumulative time).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]
from support import TEST_BLOCKS, Stack, create_pg_database, graph, make_env, start_redis, wait_for  # noqa: E402

COUNTERS = ("xact_commit", "tup_returned", "tup_fetched", "tup_inserted", "tup_updated")


def fan(items: int) -> dict:
    return graph(f"fan{items}", [("f", "test.sleep", {"seconds": [0] * items}, {"for_each": "seconds"})])


def pg_counters(url: str) -> dict[str, int]:
    import sqlalchemy as sa
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    engine = sa.create_engine(admin)
    with engine.connect() as conn:
        row = conn.execute(sa.text(f"SELECT {', '.join(COUNTERS)} FROM pg_stat_database WHERE datname = :d"),
                           {"d": name}).one()
    engine.dispose()
    return dict(zip(COUNTERS, row))


def pg_backends_cpu(url: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving the run's database (by pid)."""
    import sqlalchemy as sa
    engine = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres")
    with engine.connect() as conn:
        pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                            {"d": url.rsplit("/", 1)[1]}).scalars().all()
    engine.dispose()
    out, tick = {}, os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError, IndexError):
            continue
    return out


def spy(pid: int, path: Path):
    """py-spy recording the worker and its pool children (py-spy on PATH: pip install py-spy)."""
    import shutil
    import subprocess
    exe = shutil.which("py-spy")
    if exe is None:
        raise SystemExit("--spy needs py-spy on PATH (pip install py-spy)")
    return subprocess.Popen([exe, "record", "--subprocesses", "--nonblocking", "--rate", "200", "--format", "raw",
                             "-o", str(path), "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stack_round(label: str, items: int, redis_url: str, code: Path | None, spy_to: Path | None = None) -> dict[str, float]:
    from fleet import group_stats, run_wall
    import sqlalchemy as sa
    home = Path(tempfile.mkdtemp(prefix="nebhx-bench-fanout-"))
    db_url, drop = create_pg_database()
    env = make_env(home, db_url, redis_url)
    if code is not None:  # another revision's engine: its backend first on the path
        env["PYTHONPATH"] = str(code / "backend")
    stack = Stack(home, env).start()
    try:
        stack.run(fan(2))  # warm: imports, connections, the palette
        before = pg_counters(db_url)
        control = [stack.procs["api"].pid, stack.procs["worker"].pid]
        cpu0, pg0 = group_stats(control)[0], pg_backends_cpu(db_url)
        spying = spy(stack.procs["worker"].pid, spy_to) if spy_to else None
        run = stack.run(fan(items), wait=False)
        # Poll every half second (as bench/engine.py): each look reads the run's 1,000 item rows.
        run = wait_for(lambda: (r := stack.get_run(run["id"]))["finished_at"] and r, 1200, 0.5, what="the fan-out")
        cpu = group_stats(control)[0] - cpu0
        pg_cpu = sum(v - pg0.get(pid, 0.0) for pid, v in pg_backends_cpu(db_url).items())
        if spying:
            import signal
            spying.send_signal(signal.SIGINT)
            spying.wait(60)
        assert run["status"] == "succeeded", run["error"]
        engine = sa.create_engine(db_url)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*) FROM run_nodes WHERE run_id = :r AND parent IS NOT NULL "
                                        "AND status = 'succeeded'"), {"r": run["id"]}).scalar()
        engine.dispose()
    finally:
        stack.stop()
    time.sleep(1.0)  # the backends' exits flush their counters
    after = pg_counters(db_url)
    drop()
    wall = run_wall(run)
    out = {"ms": wall / items * 1000, "cpu": cpu / items * 1000, "pg_cpu": pg_cpu / items * 1000, "rows": rows,
           **{k: (after[k] - before[k]) / items for k in COUNTERS}}
    print(f"  {label:<9} {items} items: {out['ms']:6.2f} ms/item wall, control plane CPU {out['cpu']:5.2f} ms/item, "
          f"PostgreSQL backends' CPU {out['pg_cpu']:5.2f} ms/item; "
          f"per item: {out['xact_commit']:.1f} transactions, {out['tup_returned'] + out['tup_fetched']:.0f} rows "
          f"read, {out['tup_inserted']:.1f} inserted, {out['tup_updated']:.1f} updated; succeeded item rows {rows} "
          f"(load {os.getloadavg()[0]:.1f})", flush=True)
    return out


def stacks(items: int, rounds: int, baseline: Path | None, spy_to: Path | None = None) -> None:
    redis, redis_url = start_redis()
    results: dict[str, list[dict]] = {"this": [], "baseline": []}
    try:
        for _ in range(rounds):
            results["this"].append(stack_round("this", items, redis_url, None, spy_to))
            if baseline is not None:
                results["baseline"].append(stack_round("baseline", items, redis_url, baseline))
    finally:
        redis.terminate()
    best = {k: min(r["ms"] for r in v) for k, v in results.items() if v}
    print(f"best of {rounds}: " + ", ".join(f"{k} {v:.2f} ms/item" for k, v in best.items()))
    if baseline is not None:
        ratios = [a["ms"] / b["ms"] for a, b in zip(results["this"], results["baseline"])]
        print("this / baseline per round: " + " ".join(f"{r:.3f}" for r in ratios) +
              f"; best / best {best['this'] / best['baseline']:.3f}")


def inprocess(items: int, profile: bool) -> None:
    """Every node's task body here, one after another: statements per item, and the profile."""
    import cProfile
    import pstats

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from nebhx.engine import celery_app, execute
    from nebhx.graphs.service import ensure_graph
    from nebhx.runs.service import create_run
    from nebhx.store.db import session_scope

    counts: Counter[str] = Counter()

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        words = statement.split()
        counts[" ".join(words[:3]) if words[0] != "WITH" else "WITH " + statement.split(")")[-2][-40:]] += 1

    queue: list = []
    celery_app.send = queue.extend  # the dispatches a transaction publishes, run here instead
    try:
        from nebhx.engine.chunks import execute_items
        from nebhx.engine.messages import chunks
    except ImportError:  # a baseline without chunks: one message a node
        chunks, execute_items = (lambda ds, _: [[d] for d in ds]), None

    def one_run(n: int) -> float:
        with session_scope() as s:
            gid, rev = ensure_graph(s, doc=fan(n))
            create_run(s, graph_id=gid, revision=rev)
        t0 = time.perf_counter()
        messages: list = []
        while queue or messages:
            if queue:  # what one commit published, in messages as celery_app.send makes them
                messages += chunks(queue, 4)
                queue.clear()
            group = messages.pop(0)
            if len(group) == 1:
                execute.execute_node(group[0].run_id, group[0].node_id, group[0].attempt)
            else:
                execute_items(group[0].run_id, [(d.node_id, d.attempt) for d in group])
        return time.perf_counter() - t0

    one_run(2)
    counts.clear()
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    t0 = time.perf_counter()
    one_run(items)
    wall = time.perf_counter() - t0
    if prof:
        prof.disable()
    print(f"in-process, {items} items: {wall / items * 1000:.2f} ms/item; SQL statements per item "
          f"{sum(counts.values()) / items:.2f}:")
    for what, n in counts.most_common(12):
        print(f"  {n / items:6.2f}  {what}")
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(35)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--baseline", type=Path, help="a checkout of another revision, run alternating")
    parser.add_argument("--inprocess", action="store_true", help="the task bodies in this process")
    parser.add_argument("--profile", action="store_true", help="with --inprocess: cProfile's top")
    parser.add_argument("--spy", type=Path, help="stack mode: py-spy's raw profile of this engine's worker here")
    args = parser.parse_args()
    if not args.inprocess:
        stacks(args.items, args.rounds, args.baseline, args.spy)
        return
    url, drop = create_pg_database()
    os.environ.update(NEBHX_HOME=tempfile.mkdtemp(prefix="nebhx-bench-"), NEBHX_BLOCKS_PATH=str(TEST_BLOCKS),
                      NEBHX_DATABASE_URL=url)
    from nebhx.bricks.registry import get_registry
    from nebhx.settings import reset_settings
    reset_settings()  # create_pg_database read the settings before this env was set
    get_registry(reload=True)
    try:
        inprocess(args.items, args.profile)
    finally:
        drop()


if __name__ == "__main__":
    main()
