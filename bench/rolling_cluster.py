"""examples/canary-update.json through every path, under constant load through one central
HAProxy on its own host (the namespace cluster of tests/cluster/test_rollout_central.py).

    .venv/bin/python bench/rolling_cluster.py [--rounds N]     # needs root

Hosts lb (HAProxy alone, agent checks every 50 ms and read-only stats) and h1..h3 (role=web,
the app, each with a second slot on 8111), v1 deployed first. Three clients send GET / through
HAProxy on fresh connections the whole time. Each round runs the paths in turn: approved
(canary h1, approval, h2 and h3 one by one, commit), rejected (the canary rolled back),
rejected inside a standby period (standby_s: the canary's previous process kept, frozen), a
release that cannot start on the canary, one that fails on h3 after the approval (h1 and h2
rolled back one at a time), the same with a standby, and a switch that fails before changing
anything (the balancer is not asked the agent port the switch names).

Prints, per path, failed requests and p50/p99 latency before, during and after; for each
rejection the rollback's decision to serving: from the reject call until the balancer's stats
show h1's old release in rotation again, and the part of it on h1 (rollout.rollback's
serving_s: from its start on the host). The rejected releases take --start-s seconds to start
(default 3): outside a standby period the rollback waits for that start (the pre-staged path),
inside it thaws. A summary puts the two side by side (medians over the rounds).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "cluster"), str(ROOT / "tests")]
import httpx  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from rollout_support import (CANARY, HOOK, LB_PORT, PORT, STANDBY_PORT, Load, central_cluster,  # noqa: E402
                             central_deploy, central_inputs, finished, lb_states, node_status, release,
                             start)

STANDBY = {"standby_s": 300, "standby_port": STANDBY_PORT, "standby_warm_s": 1}
from netns import wait_for  # noqa: E402
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


def gate(cluster, run_id: str, verdict: str, serving: bool = False) -> float | None:
    """Approve or reject at the gate; with ``serving``, seconds from the call until h1's old slot
    (port 8110) is back in rotation in the balancer: its first change from out of rotation to
    UP after the call (sampled from before the call: the rollback may end before it returns)."""
    node_status(cluster, run_id, "approve", "waiting")
    h1 = f"{cluster.address('h1')}:{PORT}"
    samples: list[tuple[float, bool]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.monotonic(), (lb_states(cluster).get(h1) or "").startswith("UP")))
            time.sleep(0.002)

    poller = threading.Thread(target=sample, daemon=True)
    if serving:
        poller.start()
        wait_for(lambda: samples, 10, 0.01, what="a first sample of the balancer's stats")
    t0 = time.monotonic()
    with cluster.client() as c:
        c.post(f"/runs/{run_id}/nodes/approve/{verdict}", json={"comment": "bench"}).raise_for_status()
    if not serving:
        return None

    def back() -> float | None:
        return next((t for (_t, was), (t, up) in zip(samples, samples[1:]) if t > t0 and up and not was), None)

    try:
        return wait_for(back, 120, 0.01, what="h1's old release back in rotation") - t0
    finally:
        done.set()
        poller.join(5)


def slow(cluster, version: str, start_s: float) -> str:
    """``version``, taking ``start_s`` seconds to start."""
    source = release(cluster.workdir, version)
    path = Path(source) / "webapp.py"
    hook = f'    __import__("time").sleep({start_s})\n'
    if hook not in path.read_text():
        path.write_text(path.read_text().replace(HOOK, HOOK + hook))
    return source


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


def one_path(cluster, doc: dict, name: str, version: str, now: str, smtp_port: int,
             start_s: float) -> tuple[float, float] | None:
    inputs = central_inputs(cluster, version, smtp_port, crash=name == "canary fails")
    if name.startswith("rest fails"):
        inputs["app_source"] = refusing(cluster, version)
    if name.startswith("rejected"):
        inputs["app_source"] = slow(cluster, version, start_s)
    if name.endswith("standby"):
        inputs.update(STANDBY)
    if name == "nothing changed":
        inputs["lb_agent_port"] = 8098  # the balancer asks 8099: the drain is never taken
    decision = None
    with Load(cluster.address("lb"), LB_PORT, limit_s=600) as load:
        t0 = time.monotonic()
        time.sleep(2)
        t1 = time.monotonic()
        run_id = start(cluster, doc, inputs)
        if name == "approved" or name.startswith("rest fails"):
            gate(cluster, run_id, "approve")
        elif name.startswith("rejected"):
            decision = gate(cluster, run_id, "reject", serving=True)
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
    if decision is None:
        return None
    if served(cluster, "h1") != now:
        raise SystemExit(f"{name}: h1 serves {served(cluster, 'h1')}, not {now}, after the rollback")
    [item] = [i for i in run["nodes"]["rollback"]["items"] if i["outputs"].get("rolled_back_host") == "h1"]
    host = item["outputs"]["serving_s"]
    steps = ", ".join(f"{r['step']} {r['seconds'] * 1000:.0f}" for r in item["outputs"]["steps"])
    print(f"    rollback decision to serving {now} on h1 "
          f"({'inside a standby period: thawed' if item['outputs']['instant'] else 'outside a standby period: started'}): "
          f"{decision * 1000:.0f} ms from the reject call, {host * 1000:.0f} ms of it on h1 (steps: "
          f"{steps} ms)",
          flush=True)
    return decision, host


def summary(figures: dict, start_s: float) -> None:
    med = lambda xs: sorted(xs)[len(xs) // 2] * 1000  # noqa: E731
    print(f"rollback of the canary, decision to the old release serving (medians of {len(figures['rejected'])}; "
          f"the release takes {start_s:g} s to start):")
    for label, key in (("outside a standby period (pre-staged: start)", "rejected"),
                       ("inside a standby period (thaw)", "rejected, standby")):
        rows = figures[key]
        print(f"  {label:46s} {med([d for d, _h in rows]):7.0f} ms from the reject call, "
              f"{med([h for _d, h in rows]):6.0f} ms on the host")
    out, ins = (med([h for _d, h in figures[k]]) for k in ("rejected", "rejected, standby"))
    print(f"  on the host: inside / outside = {ins / out:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--start-s", type=float, default=3, help="start time of the rejected releases")
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
            n, figures = 2, {"rejected": [], "rejected, standby": []}
            for r in range(args.rounds):
                print(f"round {r + 1}", flush=True)
                now = "1.0.0" if r == 0 else f"{n - 1}.0.0"
                for path in ("approved", "rejected", "rejected, standby", "canary fails", "rest fails",
                             "rest fails, standby", "nothing changed"):
                    got = one_path(cluster, doc, path, f"{n}.0.0", now, smtp.port, args.start_s)
                    if got:
                        figures[path].append(got)
                    if path == "approved":
                        now = f"{n}.0.0"
                    n += 1
            summary(figures, args.start_s)
        finally:
            smtp.stop()
    finally:
        problems = cluster.down()
        if problems:
            print("teardown problems:", problems, file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
