"""A synchronous switch of four hosts (examples/sync-update.json) in the namespace cluster.

    .venv/bin/python bench/sync_switch.py [--rounds N] [--delay S]     # needs root

Four hosts labelled role=web are network namespaces with their own agents and
supervisord (tests/cluster/netns.py); v1 is deployed first (HAProxy on h1). Each round
prepares a new release on every host, the barrier fixes a moment `delay` seconds after
the last prepare, and every host renames `current` at that moment and restarts. Prints
per round the skew (latest - earliest `switched_at`, the run's output `skew_ms`; goal
under 100 ms), the time from the barrier to the last switch, and the run's wall time.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "cluster"), str(ROOT / "tests")]
from rollout_support import SYNC, deploy_v1, finished, profiles, release, start, web_cluster  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--delay", type=float, default=1.0, help="barrier delay_s")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nebhx-bench-sync-"))
    cluster = web_cluster(work)
    skews = []
    try:
        cluster.up()
        deploy_v1(cluster)
        doc = json.loads(SYNC.read_text())
        for i in range(args.rounds):
            version = f"{i + 2}.0.0"
            inputs = {"selector": "role=web", "app_source": release(work, version), "release_id": version,
                      "port": 8110, "profiles": profiles(f"hello, v{version}"), "delay_s": args.delay}
            t0 = time.monotonic()
            run = finished(cluster, start(cluster, doc, inputs))
            took = time.monotonic() - t0
            if run["status"] != "succeeded":
                raise SystemExit(f"run {run['id']} {run['status']}: {run['error']}")
            at = run["outputs"]["switched_at"]
            barrier = run["nodes"]["barrier"]["outputs"]["not_before"]
            skews.append(run["outputs"]["skew_ms"])
            print(f"round {i + 1}: {version} on {len(at)} hosts, skew {skews[-1]:.1f} ms, last switch "
                  f"{(max(at.values()) - barrier) * 1000:.1f} ms after the barrier time, run {took:.2f} s",
                  flush=True)
    finally:
        problems = cluster.down()
        if problems:
            print("teardown problems:", problems, file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nskew over {len(skews)} rounds: median {statistics.median(skews):.1f} ms, "
          f"max {max(skews):.1f} ms (goal < 100 ms)")


if __name__ == "__main__":
    main()
