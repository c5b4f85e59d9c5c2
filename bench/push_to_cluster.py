"""From `git push` to the new version answering behind HAProxy on three hosts.

    .venv/bin/python bench/push_to_cluster.py [--pushes N]      (root: network namespaces)

Three hosts as network namespaces labelled role=web (tests/cluster/netns.py: Redis, API with
the sweep and a control worker in the root namespace, an agent per host), and
examples/build-on-push-cluster.json with its trigger pointed at a fresh bare repository whose
post-receive hook (`nebhx trigger install-hook`) calls the webhook. Each push commits a new
VERSION of the example app; the clock runs from `git push` until HAProxy on h1 answers that
version from all three backends. Printed per push and as the median: the total, and the
parts from the run's node times: trigger (push until the run exists), build (checkout +
tarball), stage (every host fetches the artifact and unpacks it), switch (the three hosts,
one at a time, each until ready) and lb+check (HAProxy's config, then a GET through it).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "cluster")]
from netns import wait_for  # noqa: E402
from push_support import finished, fleet, parts, push, serving, setup_repo  # noqa: E402


def one_push(cluster, clone: Path, version: str) -> dict[str, float]:
    _, run_id, pushed_at = push(clone, version)
    wait_for(lambda: serving(cluster, version), 300, 0.05, what=f"{version} behind HAProxy on three hosts")
    total = time.time() - pushed_at
    run = finished(cluster, run_id)
    if run["status"] != "succeeded":
        raise SystemExit(f"run {run_id} {run['status']}: {run['error']}")
    return {"total": total, **parts(run, pushed_at)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pushes", type=int, default=3)
    args = ap.parse_args()
    if args.pushes < 1:
        ap.error("--pushes: at least 1 (the table and its median need a push)")
    with tempfile.TemporaryDirectory(prefix="nebhx-bench-push-cluster-") as tmp:
        cluster = fleet(Path(tmp) / "cluster")
        try:
            cluster.up()
            _, clone = setup_repo(cluster, Path(tmp))
            rows = [one_push(cluster, clone, f"v{i + 2}") for i in range(args.pushes)]
        finally:
            problems = cluster.down()
            if problems:
                print("teardown problems:", problems, file=sys.stderr)
    keys = list(rows[0])
    print(f"push to serving on three hosts behind HAProxy (network namespaces, Redis + SQLite), "
          f"{args.pushes} pushes (seconds)")
    print(" ".join(f"{k:>9}" for k in ["push", *keys]))
    for i, row in enumerate(rows, 1):
        print(" ".join([f"{i:>9}", *(f"{row[k]:9.2f}" for k in keys)]))
    print(" ".join([f"{'median':>9}", *(f"{statistics.median(r[k] for r in rows):9.2f}" for k in keys)]))


if __name__ == "__main__":
    main()
