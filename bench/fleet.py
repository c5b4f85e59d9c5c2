"""A fleet of 100: the shipped canary over 100 hosts, a 1,000-item fan-out, and soaks of runs.

    .venv/bin/python bench/fleet.py [--soak N]   # every part; N runs per soak (default 200; the issue's: 2000)
    .venv/bin/python bench/fleet.py --only canary --shot /tmp/grid.png [--failing 2] [--keep]
    .venv/bin/python bench/fleet.py --only soak --soak 2000       # PostgreSQL + Redis stack
    .venv/bin/python bench/fleet.py --only soak-up --soak 2000    # through `nebhx up` (SQLite)
One stack as in production: PostgreSQL (a database of its own), Redis, the API with the sweep
and a control worker as processes (tests/support.py Stack). 100 hosts web000..web099 are
registered with their join tokens; their agents are one process (bench/fleet_agents.py) that
takes each host's node messages from its own queue host.NAME and runs them on that host's own
runtime (NEBHX_HOME/hosts/NAME: its supervisord, the example app on a port of its own), claims
and outcomes through the execution API over HTTP with the host's token.

1. Canary: examples/canary-update.json (bench/fleet_canary.py says what is adapted and why) from
   1.0.0 to 2.0.0 of the example app, the rest in batches of 10% with max_failures 3, the gate
   approved as it waits. Plan time (POST /api/graphs/plan), run wall time, time per node and per
   batch, the control plane's CPU (API + worker), what every host's app answers after; with
   --failing N, 2.0.0 exits at start on N hosts of the rest (they roll themselves back, the
   batches go on, the failure branch rolls back every host the run switched).
2. Fan-out: one node over 1,000 items (test.sleep 0 s, control worker), time per item, with every
   item's state a row in PostgreSQL (counted after).
3. Soak: N small runs through the API, in two legs each followed by the sweep's retention and a
   plain VACUUM: the control plane's memory (RSS) and open files, the database's size, and per
   table its rows, dead tuples and bytes (retention: NEBHX_RETAIN_RUNS=100). soak-up: the same
   through `nebhx up` on SQLite and the filesystem broker.

Figures of 2026-12-07 (2 cores shared with other work, load average 22-26; pool of 4 agent
processes, so at most 4 host nodes run at once):
- canary: first deploy of 1.0.0 on 100 hosts 80 s; plan 11.4-14.1 s (the simulated agents plan
  the 100 hosts one after the other in one thread, ~0.1 s each: a fleet's agents plan side by
  side); run 136.5 s (135.1 s without the approval's wait), control plane CPU 13.0 s (10% of a
  core); prepare 100 hosts 20.3 s, canary 10 hosts 9.4 s, the rest's 10 batches of 9 hosts
  4.8-9.8 s each with 0.15-0.83 s between batches, commit 100 hosts 8.3 s; 100 of 100 hosts serve
  2.0.0 after. The editor's run panel shows the 100-host grid 6.9 s after opening the run link
  (11.5 s before it stopped replaying an ended run's 1,500 events).
- canary --failing 2 (load average 34-45: the soak-up ran beside it): web050 and web051 failed
  readiness in the rest's batch 5 and rolled themselves back (80 s: the 60 s readiness timeout
  of their first deploy, as they run), the other batches went on (max_failures 3), commit was
  skipped and the failure branch rolled back all 100 hosts one by one in 392 s; every host
  serves 1.0.0 after, and both e-mails came. Run 873 s, control plane CPU 58 s (7% of a core).
- soak, PostgreSQL, 2,000 runs: RSS 302 -> 304 MiB, open files 60 -> 63; database 8.2 MiB, after
  1,000 runs 10.9 MiB (PostgreSQL here has autovacuum off: 16,000 dead tuples), VACUUM 11.0,
  after 2,000 runs 11.5, VACUUM 11.3. Rows stay at what retention keeps (100 runs, 200 nodes,
  800 events); the audit keeps one row per API call by policy (2,180 rows, 360 KiB).
- soak-up, `nebhx up` (SQLite, filesystem broker), 2,000 runs: RSS 357 -> 360 -> 356 MiB (before,
  after 1,000, after 2,000), open files 40 -> 45 -> 45; nebhx.db 0.21 -> 0.49 -> 0.60 MiB of pages
  (the audit's 2,387 rows the growth), its WAL 5.0 -> 5.1 MiB (reused, not truncated); the
  broker's folder 3 files, 0 KiB throughout.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from email import message_from_bytes
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from support import Inbox, Stack, create_pg_database, free_port, graph, make_env, start_redis, wait_for  # noqa: E402
sys.path.insert(0, str(ROOT / "bench"))
import fleet_canary  # noqa: E402
from fleet_soak import bench_soak, bench_soak_up  # noqa: E402

N = 100
NAMES = [f"web{i:03d}" for i in range(N)]
RETAIN = 100


def group_stats(pgids: list[int]) -> tuple[float, int, int]:
    """CPU seconds, RSS bytes and open files of every process in these process groups."""
    cpu, rss, fds = 0.0, 0, 0
    tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    for proc in Path("/proc").iterdir():
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) not in pgids:
                continue
            cpu += (int(fields[11]) + int(fields[12])) / tick
            rss += int((proc / "statm").read_text().split()[1]) * page
            fds += len(os.listdir(proc / "fd"))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return cpu, rss, fds


def _t(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def run_wall(run: dict) -> float:
    return _t(run["finished_at"]) - _t(run["created_at"])


def register(stack: Stack) -> Path:
    """100 hosts labelled role=web with their join tokens (the agents' credentials)."""
    from nebhx.auth.service import add_host
    from nebhx.store.db import session_scope
    from nebhx.store.models import HostRow, utcnow
    with session_scope() as s:
        for i, name in enumerate(NAMES):
            s.add(HostRow(name=name, labels={"role": "web", "zone": "abc"[i % 3]}, last_seen=utcnow()))
        tokens = {name: add_host(s, name=name, labels={}, server=stack.url)["token"] for name in NAMES}
    path = stack.home / "tokens.json"
    path.write_text(json.dumps(tokens))
    return path


def approve_when_waiting(stack: Stack, api, run_id: str) -> dict:
    """The gate approved as soon as it waits (an admin who reads the canary's e-mail at once).
    Polled every second, the end through the run list: reading the whole 400-item run ten times
    a second (Stack.wait_run) would be most of the control plane's CPU."""
    wait_for(lambda: stack.get_run(run_id)["nodes"]["approve"]["status"] in ("waiting", "skipped", "failed"),
             900, 1, what="the approval gate waiting")
    resp = api.post(f"/runs/{run_id}/nodes/approve/approve", json={"comment": "bench: canary looks fine"})
    assert resp.status_code == 200, resp.text
    wait_for(lambda: next(r for r in api.get("/runs", params={"limit": 5}).json() if r["id"] == run_id)["finished_at"],
             1800, 1, what="the canary run finished")
    return stack.get_run(run_id)


def bench_canary(stack: Stack, api, smtp_port: int, pool: int, failing: list[str]) -> str:
    control = [stack.procs["api"].pid, stack.procs["worker"].pid]
    src = fleet_canary.sources(stack.home)
    ports = dict(zip(NAMES, fleet_canary.free_ports(N)))
    took = fleet_canary.deploy_v1(stack.home / "hosts", NAMES, src[fleet_canary.V1], ports, pool)
    fleet_canary.refuse(stack.home / "hosts", failing)
    serving = sum(fleet_canary.version(p) == fleet_canary.V1 for p in ports.values())
    print(f"first deploy (bricks in the bench, {pool} at a time): {serving} hosts serve 1.0.0 after {took:.1f} s")
    doc = fleet_canary.canary_graph()
    inputs = {"selector": "role=web", "app_source": src[fleet_canary.V2], "release_id": fleet_canary.V2,
              "smtp_host": "127.0.0.1", "smtp_port": smtp_port}
    plans = []
    for _ in range(3):
        t0 = time.perf_counter()
        resp = api.post("/graphs/plan", json={"graph": doc, "inputs": inputs})
        plans.append(time.perf_counter() - t0)
        assert resp.status_code == 200, resp.text
    per_host = [float(line.split()[-2]) for line in (stack.home / "fleet.log").read_text().splitlines()
                if line.startswith("planned ")][-N:]
    print(f"examples/canary-update.json over {N} hosts: plan (each host's agent plans its items) "
          f"{', '.join(f'{p:.2f}' for p in plans)} s; the last plan's {len(per_host)} hosts took "
          f"{sum(per_host):.2f} s in the agents' one thread, one after the other ({max(per_host) * 1000:.0f} ms "
          f"at most, {sum(per_host) / len(per_host) * 1000:.0f} ms on average)")
    cpu0 = group_stats(control)[0]
    run = stack.run(doc, inputs, wait=False)
    run = approve_when_waiting(stack, api, run["id"])
    cpu = group_stats(control)[0] - cpu0
    wall = run_wall(run)
    approve = run["nodes"]["approve"]
    waited = _t(approve["finished_at"]) - _t(approve["started_at"])
    print(f"  run {run['status']} in {wall:.2f} s ({wall - waited:.2f} s without the wait for approval); "
          f"control plane CPU {cpu:.2f} s ({cpu / wall * 100:.0f}% of one core)")
    fleet_canary.report(run)
    now = Counter(fleet_canary.version(p) for p in ports.values())
    print(f"  what the hosts' apps answer on their ports now: {dict(now)}")
    return run["id"]


def screenshot(url: str, run_id: str, path: Path) -> None:
    """The editor's run panel on the canary run (its rollout grid at 100 hosts), headless Chromium:
    ``path`` with every host, and ``path``'s name with ``-look`` with "not succeeded only" on."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        t0 = time.perf_counter()
        page.goto(f"{url}/#/runs/{run_id}/nodes/rest")
        page.get_by_role("tab", name="Run").click()
        page.get_by_test_id("grid-host-web099").wait_for(state="attached", timeout=60_000)
        shown = time.perf_counter() - t0
        page.screenshot(path=str(path))
        page.get_by_test_id("grid-only-look").check()
        look = path.with_name(f"{path.stem}-look{path.suffix}")
        page.screenshot(path=str(look))
        browser.close()
    print(f"  editor: run panel with the 100-host grid shown {shown:.2f} s after opening the run link; "
          f"screenshots {path} (every host), {look} (not succeeded only)")


def bench_fanout(stack: Stack, api) -> None:
    import sqlalchemy as sa
    doc = graph("fan1000", [("f", "test.sleep", {"seconds": [0] * 1000}, {"for_each": "seconds"})])
    control = [stack.procs["api"].pid, stack.procs["worker"].pid]
    cpu0 = group_stats(control)[0]
    run = stack.run(doc, timeout=600)
    cpu = group_stats(control)[0] - cpu0
    assert run["status"] == "succeeded", run["error"]
    wall = run_wall(run)
    from nebhx.store.db import get_engine
    with get_engine(os.environ["NEBHX_DATABASE_URL"]).connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM run_nodes WHERE run_id = :r AND parent IS NOT NULL AND status = 'succeeded'"),
                            {"r": run["id"]}).scalar()
    # CPU per item beside wall time: on a shared machine the wall time is mostly waiting for a core.
    print(f"fan-out of 1,000 items: {wall:.2f} s, {wall:.2f} ms/item (goal < 3), control plane CPU "
          f"{cpu:.2f} ms/item (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores); "
          f"succeeded rows in PostgreSQL for the run: {rows}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--soak", type=int, default=200, help="runs in the soak (the issue's figure: 2000)")
    parser.add_argument("--only", choices=["canary", "fanout", "soak", "soak-up"], help="one part alone")
    parser.add_argument("--shot", type=Path, help="save a screenshot of the editor's rollout grid here")
    parser.add_argument("--failing", type=int, default=0, help="hosts of the rest (web050...) where 2.0.0 "
                        "exits at start: they roll themselves back, the batches go on (max_failures 3), "
                        "then the failure branch rolls back every host the run switched")
    parser.add_argument("--keep", action="store_true", help="keep the stack up after the canary (Ctrl-C ends it)")
    parser.add_argument("--pool", type=int, default=4, help="agent processes running host nodes")
    args = parser.parse_args()
    if args.only != "soak-up":
        bench_stack(args)
    if args.only in (None, "soak-up"):
        bench_soak_up(args.soak, RETAIN, group_stats)


def bench_stack(args) -> None:
    """What runs on the production-like stack: PostgreSQL, Redis, API and a control worker."""
    home = Path(tempfile.mkdtemp(prefix="nebhx-bench-fleet-"))
    redis, broker = start_redis()
    db_url, drop = create_pg_database()
    env = make_env(home, db_url, broker, NEBHX_RETAIN_RUNS=str(RETAIN), NEBHX_GC_INTERVAL_S="2",
                   NEBHX_HOST_WAIT_S="60", NEBHX_HOST_SOURCE_PATHS=str(home / "src"),
                   NEBHX_LEASE_S="30", NEBHX_WORKER_DOWN_S="30")
    os.environ.update(env)
    from nebhx.settings import reset_settings
    reset_settings()  # create_pg_database may have read the settings before this env was set
    from aiosmtpd.controller import Controller
    smtp = Controller(Inbox(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    stack = Stack(home, env)
    try:
        stack.start()
        api = stack.client()
        if args.only in (None, "canary"):
            start_agents(stack, api, args.pool)
            run_id = bench_canary(stack, api, smtp.port, args.pool, NAMES[50:50 + args.failing])
            mails = [message_from_bytes(m.content)["Subject"] for m in smtp.handler.messages]
            print(f"  e-mails received: {mails}")
            if args.shot:
                screenshot(stack.url, run_id, args.shot)
            if args.keep:
                print(f"  kept up: {stack.url}/#/runs/{run_id}/nodes/rest (Ctrl-C ends it)", flush=True)
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # waited for, not fatal
                signal.sigwait({signal.SIGINT, signal.SIGTERM})
        if args.only in (None, "fanout"):
            bench_fanout(stack, api)
        if args.only in (None, "soak"):
            bench_soak(stack, api, args.soak, RETAIN, group_stats)
    finally:
        stack.stop()
        smtp.stop()
        redis.terminate()
        drop()


def start_agents(stack: Stack, api, pool: int) -> None:
    """The 100 hosts registered, their agents (bench/fleet_agents.py) beating and taking work."""
    import subprocess
    tokens = register(stack)
    log = open(stack.home / "fleet.log", "wb")
    stack.procs["fleet"] = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "fleet_agents.py"), str(stack.home / "hosts"), str(tokens), str(pool)],
        env={**stack.env, "NEBHX_URL": stack.url}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: sum(h["state"] == "up" for h in api.get("/hosts").json()) >= N, 180, what="100 hosts up")

if __name__ == "__main__":
    main()
