"""examples/canary-update.json through every path, under constant load through one central
HAProxy on its own host (the namespace cluster of tests/cluster/test_rollout_central.py).

    .venv/bin/python bench/rolling_cluster.py [--rounds N]     # needs root

Hosts lb (HAProxy alone, agent checks and read-only stats) and h1..h3 (role=web, the app),
v1 deployed first. Three clients send GET / through HAProxy on fresh connections the whole
time. Each round runs the paths in turn: approved (canary h1, approval, h2 and h3 one by one,
commit), rejected (the canary rolled back), a release that cannot start on the canary, one
that fails on h3 after the approval (h1 and h2 rolled back one at a time), and a switch that
fails before changing anything (the balancer is not asked the agent port the switch names).
Prints, per path, failed requests and p50/p99 latency before, during and after, and for the
rejection the rollback's decision to serving: from the reject call until h1 answers with the
old release (the pre-staged path: the release is on disk, the app restarts).
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
import httpx  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from rollout_support import (CANARY, HOOK, LB_PORT, PORT, Load, central_cluster, central_deploy,  # noqa: E402
                             central_inputs, finished, node_status, release, start)
from support import Inbox  # noqa: E402


def show(name: str, w: dict) -> str:
    p50 = f"{w['p50_ms']:6.2f}" if w["p50_ms"] is not None else "     -"
    p99 = f"{w['p99_ms']:6.2f}" if w["p99_ms"] is not None else "     -"
    return (f"    {name:7s}{w['requests']:6d} requests, {w['failed']} failed, p50 {p50} ms, "
            f"p99 {p99} ms, releases {', '.join(w['versions'])}")


def served(cluster, host: str) -> str | None:
    try:
        return httpx.get(f"http://{cluster.address(host)}:{PORT}/", timeout=1, trust_env=False).json()["version"]
    except (httpx.HTTPError, ValueError, KeyError):
        return None


def gate(cluster, run_id: str, verdict: str, serving: str | None = None) -> float | None:
    """Approve or reject at the gate; with ``serving``, seconds until h1 answers that release."""
    node_status(cluster, run_id, "approve", "waiting")
    t0 = time.monotonic()
    with cluster.client() as c:
        c.post(f"/runs/{run_id}/nodes/approve/{verdict}", json={"comment": "bench"}).raise_for_status()
    if serving is None:
        return None
    while served(cluster, "h1") != serving:
        if time.monotonic() - t0 > 120:
            raise SystemExit("h1 did not serve the old release within 120 s of the rejection")
        time.sleep(0.01)
    return time.monotonic() - t0


def refusing(cluster, version: str) -> str:
    """``version`` of the app that refuses to start on h3 (a marker file in its data volume)."""
    source = release(cluster.workdir, version)
    hook = (f'    if args.data and (args.data / "refuse-{version}").exists():\n'
            f'        raise SystemExit("{version} refuses this host")\n')
    path = Path(source) / "webapp.py"
    if hook not in path.read_text():
        path.write_text(path.read_text().replace(HOOK, HOOK + hook))
    (cluster.workdir / "hosts" / "h3" / "volumes" / "web-data" / f"refuse-{version}").write_text("")
    return source


def one_path(cluster, doc: dict, name: str, version: str, now: str, smtp_port: int) -> None:
    inputs = central_inputs(cluster, version, smtp_port, crash=name == "canary fails")
    if name == "rest fails":
        inputs["app_source"] = refusing(cluster, version)
    if name == "nothing changed":
        inputs["lb_agent_port"] = 8098  # the balancer asks 8099: the drain is never taken
    decision = None
    with Load(cluster.address("lb"), LB_PORT, limit_s=600) as load:
        t0 = time.monotonic()
        time.sleep(2)
        t1 = time.monotonic()
        run_id = start(cluster, doc, inputs)
        if name in ("approved", "rest fails"):
            gate(cluster, run_id, "approve")
        elif name == "rejected":
            decision = gate(cluster, run_id, "reject", serving=now)
        run = finished(cluster, run_id, timeout=600)
        t2 = time.monotonic()
        time.sleep(2)
        t3 = time.monotonic()
    want = "succeeded" if name == "approved" else "failed"
    if run["status"] != want:
        raise SystemExit(f"{name}: run {run_id} {run['status']} ({run['error']}), expected {want}")
    print(f"  {name}: {version}, {t2 - t1:.2f} s ({run['error'] or 'committed'})")
    for label, (a, b) in (("before", (t0, t1)), ("during", (t1, t2)), ("after", (t2, t3))):
        print(show(label, load.window(a, b)), flush=True)
    if decision is not None:
        print(f"    rollback decision to serving {now} on h1 (outside a grace period): {decision * 1000:.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    if args.rounds < 1:
        raise SystemExit("--rounds must be at least 1")
    work = Path(tempfile.mkdtemp(prefix="nebhx-bench-rolling-"))
    cluster = central_cluster(work)
    try:
        cluster.up()
        smtp = Controller(Inbox(), hostname=cluster.gateway, port=cluster.free_port())
        smtp.start()
        try:
            central_deploy(cluster)
            doc = json.loads(CANARY.read_text())
            n = 2
            for r in range(args.rounds):
                print(f"round {r + 1}", flush=True)
                now = "1.0.0" if r == 0 else f"{n - 1}.0.0"
                for path in ("approved", "rejected", "canary fails", "rest fails", "nothing changed"):
                    one_path(cluster, doc, path, f"{n}.0.0", now, smtp.port)
                    if path == "approved":
                        now = f"{n}.0.0"
                    n += 1
        finally:
            smtp.stop()
    finally:
        problems = cluster.down()
        if problems:
            print("teardown problems:", problems, file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
