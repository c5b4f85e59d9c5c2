"""Deploying the example (examples/web-service.json) on three hosts, and again unchanged.

    .venv/bin/python bench/deploy.py [--repeat N]      # needs root (network namespaces)

Three hosts are network namespaces with their own agents (tests/cluster/netns.py: Redis
on a private bridge, SQLite store, API + control worker in the root namespace). Each
round starts from fresh host homes: one first deploy (volumes, seed files, releases,
configs, three apps under supervisord, HAProxy, check, e-mail), then the same run again,
where every brick finds its work done. Target: the second run changes nothing and takes
under a third of the first. Prints both wall times (POST /runs to finished) and the ratio.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "cluster")]
from aiosmtpd.controller import Controller  # noqa: E402
from netns import Cluster  # noqa: E402
from support import Inbox  # noqa: E402

STATEFUL = ("volume", "seed", "stage", "switch", "config", "run", "lb")


def timed_run(cluster: Cluster, inputs: dict) -> tuple[float, dict]:
    t0 = time.monotonic()
    run = cluster.run(cluster.example(), inputs)
    took = time.monotonic() - t0
    if run["status"] != "succeeded":
        bad = {k: n["error"] for k, n in run["nodes"].items() if n["status"] != "succeeded"}
        raise SystemExit(f"run {run['id']} {run['status']}: {bad}")
    return took, run


def changed_nodes(run: dict) -> list[str]:
    return sorted(k for k, n in run["nodes"].items()
                  if k.startswith(STATEFUL) and (n["outputs"] or {}).get("changed"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="rounds, each on fresh host homes")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nebhx-bench-deploy-"))
    rounds = []
    for i in range(args.repeat):
        cluster = Cluster(work / f"round{i}")
        try:
            cluster.up()
            inbox = Inbox()
            ctl = Controller(inbox, hostname=cluster.gateway, port=cluster.free_port())
            ctl.start()
            try:
                inputs = cluster.example_inputs(ctl.port)
                first, run1 = timed_run(cluster, inputs)
                second, run2 = timed_run(cluster, inputs)
            finally:
                ctl.stop()
            pids1 = [run1["outputs"][f"pid_{b}"] for b in "abc"]
            pids2 = [run2["outputs"][f"pid_{b}"] for b in "abc"]
            again = changed_nodes(run2)
            print(f"round {i + 1}: first deploy {first:.2f}s ({len(changed_nodes(run1))} nodes changed), "
                  f"unchanged re-run {second:.2f}s (changed: {again or 'none'}; "
                  f"app pids kept: {pids1 == pids2}; e-mails: {len(inbox.messages)})", flush=True)
            rounds.append((first, second, not again and pids1 == pids2))
        finally:
            problems = cluster.down()
            if problems:
                print("teardown problems:", problems, file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)
    first = statistics.median(r[0] for r in rounds)
    second = statistics.median(r[1] for r in rounds)
    print(f"\nmedian of {len(rounds)}: first deploy {first:.2f}s, unchanged re-run {second:.2f}s, "
          f"ratio {second / first:.3f} (target < 0.333); "
          f"re-runs that changed nothing: {sum(r[2] for r in rounds)}/{len(rounds)}")


if __name__ == "__main__":
    main()
