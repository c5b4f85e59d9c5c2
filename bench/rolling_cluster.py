"""A canary then rolling update of four hosts under constant load through HAProxy, in the
namespace cluster (examples/canary-update.json, approved as soon as the gate waits).

    .venv/bin/python bench/rolling_cluster.py [--rounds N]     # needs root

Four hosts labelled role=web (tests/cluster/netns.py), v1 deployed first with HAProxy on
h1 in front of all four. Three clients send GET / through HAProxy on fresh connections
the whole time; each round updates every host (canary h1, approval, then h2..h4 one by
one, commit). Prints failed requests and p50/p99 latency before, during and after each
update, and which releases answered.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "cluster"), str(ROOT / "tests")]
from aiosmtpd.controller import Controller  # noqa: E402
from rollout_support import (CANARY, Load, canary_inputs, deploy_v1, finished, node_status,  # noqa: E402
                             start, web_cluster)
from support import Inbox  # noqa: E402


def show(name: str, w: dict) -> str:
    return (f"  {name:7s}{w['requests']:6d} requests, {w['failed']} failed, p50 {w['p50_ms']:6.2f} ms, "
            f"p99 {w['p99_ms']:6.2f} ms, releases {', '.join(w['versions'])}")


def one_round(cluster, doc: dict, version: str, smtp_port: int) -> None:
    with Load(cluster.address("h1"), limit_s=300) as load:
        t0 = time.monotonic()
        time.sleep(3)
        t1 = time.monotonic()
        run_id = start(cluster, doc, canary_inputs(cluster, version, smtp_port))
        node_status(cluster, run_id, "approve", "waiting")
        with cluster.client() as c:
            c.post(f"/runs/{run_id}/nodes/approve/approve", json={"comment": "bench"}).raise_for_status()
        run = finished(cluster, run_id)
        t2 = time.monotonic()
        time.sleep(3)
        t3 = time.monotonic()
    if run["status"] != "succeeded":
        raise SystemExit(f"run {run_id} {run['status']}: {run['error']}")
    print(f"update to {version} of 4 hosts (canary, approval, then one by one): {t2 - t1:.2f} s")
    for name, (a, b) in (("before", (t0, t1)), ("during", (t1, t2)), ("after", (t2, t3))):
        print(show(name, load.window(a, b)), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nebhx-bench-rolling-"))
    cluster = web_cluster(work)
    try:
        cluster.up()
        inbox = Inbox()
        smtp = Controller(inbox, hostname=cluster.gateway, port=cluster.free_port())
        smtp.start()
        try:
            deploy_v1(cluster)
            doc = json.loads(CANARY.read_text())
            for i in range(args.rounds):
                one_round(cluster, doc, f"{i + 2}.0.0", smtp.port)
        finally:
            smtp.stop()
    finally:
        problems = cluster.down()
        if problems:
            print("teardown problems:", problems, file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
