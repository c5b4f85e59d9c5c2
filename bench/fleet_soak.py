"""The soak of bench/fleet.py: N small runs through the API, and what the database keeps of them.

Per table, before and after: rows (exact counts), dead tuples (PostgreSQL's statistics: the
space a delete leaves until VACUUM reuses it) and pg_total_relation_size (heap, indexes and
TOAST), so growth beyond what retention keeps shows by table.
"""
from __future__ import annotations

import os
import time

import sqlalchemy as sa

SIZES = sa.text("""SELECT s.relname, pg_total_relation_size(s.relid), pg_indexes_size(s.relid), s.n_dead_tup,
                          s.autovacuum_count + s.vacuum_count
                   FROM pg_stat_user_tables s ORDER BY s.relname""")


def tables(conn) -> dict[str, dict[str, int]]:
    """Per table: rows, dead tuples, bytes on disk (with indexes and TOAST), index bytes, vacuums."""
    conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))  # statistics as they are now, not cached
    out = {}
    for name, size, index, dead, vacuums in conn.execute(SIZES):
        rows = conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar()
        out[name] = {"rows": rows, "dead": dead, "bytes": size, "index": index, "vacuums": vacuums}
    return out


def db_size(conn) -> int:
    return conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()


def show(before: dict, after: dict) -> None:
    """The tables that changed, largest growth first."""
    kib = 1024
    grew = sorted(after, key=lambda t: after[t]["bytes"] - before.get(t, {}).get("bytes", 0), reverse=True)
    print(f"  {'table':<20} {'rows':>13} {'dead tuples':>13} {'KiB (of which indexes)':>30} vacuums")
    for t in grew:
        b, a = before.get(t, {"rows": 0, "dead": 0, "bytes": 0, "index": 0, "vacuums": 0}), after[t]
        if a == b:
            continue
        print(f"  {t:<20} {b['rows']:>6}->{a['rows']:<6} {b['dead']:>6}->{a['dead']:<6} "
              f"{b['bytes'] // kib:>6} ({b['index'] // kib:>5}) -> {a['bytes'] // kib:>6} ({a['index'] // kib:>5}) "
              f"{b['vacuums']}->{a['vacuums']}")


def vacuum(engine) -> None:
    """A plain VACUUM of every table, as autovacuum does: the space of deleted rows is free for
    new rows; files shrink only when their last pages are empty (VACUUM FULL rewrites them)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM"))


def leg(stack, api, doc: dict, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        resp = api.post("/runs", json={"graph": doc, "inputs": {}})
        assert resp.status_code == 201, resp.text
        if i % 20 == 19 or i == n - 1:  # a few at a time in flight, as a busy server sees them
            stack.wait_run(resp.json()["id"], 120)
    return time.perf_counter() - t0


def bench_soak(stack, api, n: int, retain: int, group_stats) -> None:
    """Two legs of n/2 runs, each followed by the wait for retention and a plain VACUUM: the
    second leg reuses what the first one's deleted rows freed, so the database stops growing."""
    from support import graph, wait_for

    from nebhx.store.db import get_engine
    engine = get_engine(os.environ["NEBHX_DATABASE_URL"])
    control = [stack.procs["api"].pid, stack.procs["worker"].pid]
    doc = graph("soak", [("a", "test.noop"), ("b", "test.noop")], [{"from": {"node": "a"}, "to": {"node": "b"}}])
    graph_id = stack.run(doc)["graph_id"]
    kept = lambda: len(api.get("/runs", params={"graph_id": graph_id, "limit": 1000}).json())  # noqa: E731
    mib = 1 << 20
    with engine.connect() as conn:
        autovacuum = conn.execute(sa.text("SHOW autovacuum")).scalar()
        before, start = group_stats(control), tables(conn)
        sizes = [db_size(conn)]
    wall = 0.0
    for number, half in enumerate((n // 2, n - n // 2)):
        wall += leg(stack, api, doc, half)
        wait_for(lambda: kept() <= retain, 60, 0.5, what=f"retention down to {retain} runs of the soak's graph")
        with engine.connect() as conn:
            sizes.append(db_size(conn))
            if number == 0:
                first = tables(conn)
        vacuum(engine)
        with engine.connect() as conn:
            sizes.append(db_size(conn))
            vacuumed = tables(conn)
    after = group_stats(control)
    print(f"soak of {n} runs through the API: {wall:.1f} s ({wall / n * 1000:.0f} ms/run); PostgreSQL autovacuum {autovacuum}")
    print(f"  control plane RSS {before[1] / mib:.0f} -> {after[1] / mib:.0f} MiB, open files {before[2]} -> {after[2]}")
    print(f"  database: {sizes[0] / mib:.1f} MiB; after {n // 2} runs {sizes[1] / mib:.1f}, VACUUM {sizes[2] / mib:.1f}; "
          f"after {n} runs {sizes[3] / mib:.1f}, VACUUM {sizes[4] / mib:.1f} (retention keeps {retain} runs)")
    print(f"  per table, before -> after the first {n // 2} runs (no VACUUM yet):")
    show(start, first)
    print(f"  per table, before -> after all {n} runs and VACUUM:")
    show(start, vacuumed)


def sqlite_state(path) -> dict:
    """The SQLite store: file bytes, free pages, and rows per table."""
    import sqlite3
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in names}
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    # The write-ahead log holds what is not checkpointed into the file yet: both are on the disk.
    files = sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    return {"bytes": pages * page, "free": free * page, "files": files, "rows": rows}


def tree(home) -> dict[str, tuple[int, int]]:
    """Files and bytes under each folder of NEBHX_HOME (the filesystem broker's among them)."""
    out = {}
    for top in sorted(p for p in home.iterdir() if p.is_dir()):
        files = [f for f in top.rglob("*") if f.is_file()]
        out[top.name] = (len(files), sum(f.stat().st_size for f in files))
    return out


def bench_soak_up(n: int, retain: int, group_stats) -> None:
    """The soak through `nebhx up` as a newcomer runs it: SQLite and the filesystem broker under
    NEBHX_HOME, API + scheduler, worker and agent as the processes `nebhx up` starts."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    import httpx
    from support import ROOT, Stack, graph, make_env, wait_for
    home = Path(tempfile.mkdtemp(prefix="nebhx-bench-soak-up-"))
    env = make_env(home, NEBHX_RETAIN_RUNS=str(retain), NEBHX_GC_INTERVAL_S="2")
    stack = Stack(home, env)
    with open(home / "up.log", "wb") as log:
        stack.procs["up"] = subprocess.Popen(
            [sys.executable, "-m", "nebhx.cli.main", "up", "--port", str(stack.port), "--no-mail-sink"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: httpx.get(stack.url + "/api/health").status_code == 200, 120, what="nebhx up")
        api, db, group = stack.client(), home / "nebhx.db", [stack.procs["up"].pid]
        doc = graph("soak", [("a", "test.noop"), ("b", "test.noop")], [{"from": {"node": "a"}, "to": {"node": "b"}}])
        graph_id = stack.run(doc)["graph_id"]
        kept = lambda: len(api.get("/runs", params={"graph_id": graph_id, "limit": 1000}).json())  # noqa: E731
        states = [(group_stats(group), sqlite_state(db), tree(home))]
        wall = 0.0
        for half in (n // 2, n - n // 2):
            wall += leg(stack, api, doc, half)
            wait_for(lambda: kept() <= retain, 60, 0.5, what=f"retention down to {retain} runs")
            states.append((group_stats(group), sqlite_state(db), tree(home)))
    finally:
        stack.stop()
    mib = 1 << 20
    print(f"soak of {n} runs through `nebhx up` (SQLite, filesystem broker): {wall:.1f} s ({wall / n * 1000:.0f} ms/run)")
    for label, (proc, store, files) in zip(("before", f"after {n // 2}", f"after {n}"), states):
        print(f"  {label:>10}: RSS {proc[1] / mib:.0f} MiB, open files {proc[2]}, nebhx.db {store['bytes'] / mib:.2f} MiB "
              f"({store['free'] / mib:.2f} free; with its WAL {store['files'] / mib:.2f} on disk), rows {dict((t, r) for t, r in store['rows'].items() if r)}")
        print(f"  {'':>10}  NEBHX_HOME: {', '.join(f'{k} {c} files {b // 1024} KiB' for k, (c, b) in files.items())}")
