"""Planning a rollout over 100 hosts (target: under 1 s).

    .venv/bin/python bench/plan.py
A fresh SQLite store with 100 hosts registered directly (labels role=web and a zone; a
third of them with a running service in the services view), then the plan of
select -> split 10% -> for_each release.switch over the head -> gate -> for_each over the
rest in 25% batches: (a) the engine's plan_request, hosts read from the store, the graph
validated; (b) POST /api/graphs/plan through the in-process API (HTTP and JSON included).
Best and median of 10.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
HOME = Path(tempfile.mkdtemp(prefix="nebhx-bench-plan-"))
os.environ.update(NEBHX_HOME=str(HOME), NEBHX_DATABASE_URL=f"sqlite:///{HOME / 'store.db'}",
                  XDG_CONFIG_HOME=str(HOME / "config"))
from support import graph, order, wire  # noqa: E402

N, ROUNDS = 100, 10


def register_hosts() -> None:
    from nebhx.store.db import session_scope
    from nebhx.store.models import HostRow, utcnow
    with session_scope() as s:
        for i in range(N):
            services = [{"service": "app", "release": "r1"}] if i % 3 == 0 else []
            s.add(HostRow(name=f"web{i:03d}", labels={"role": "web", "zone": "abc"[i % 3]},
                          last_seen=utcnow(), services=services))


def rollout() -> dict:
    switch = {"service": "app", "release": {"$input": "release"}}
    return graph("rollout", [
        ("sel", "hosts.select", {"selector": "role=web,zone in (a,b,c)"}),
        ("split", "hosts.split", {"first": "10%"}),
        ("canary", "release.switch", switch, {"for_each": "host"}),
        ("gate", "gate.approval", {}),
        ("rest", "release.switch", switch, {"for_each": "host", "batch": "25%", "pause_s": 60}),
    ], [wire("sel", "hosts", "split", "items"), wire("split", "head", "canary", "host"),
        wire("split", "rest", "rest", "host"), order("canary", "gate"), order("gate", "rest")],
        inputs=[{"name": "release", "type": "string"}])


def timed(fn) -> list[float]:
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    from fastapi.testclient import TestClient

    from nebhx.api.app import create_app
    from nebhx.engine.dryrun import plan_request
    from nebhx.store.db import session_scope
    register_hosts()
    doc, inputs = rollout(), {"release": "r2"}

    def engine() -> None:
        with session_scope() as s:
            out = plan_request(s, graph=doc, inputs=inputs)
        assert len(out["nodes"]["rest"]["items"]) == 90, out["nodes"]["rest"]["effect"]

    with TestClient(create_app(), base_url="http://127.0.0.1:8750") as api:
        def http() -> None:
            resp = api.post("/api/graphs/plan", json={"graph": doc, "inputs": inputs})
            assert resp.status_code == 200 and len(resp.json()["nodes"]["canary"]["items"]) == 10, resp.text
        http()  # first call: palette load, migrations
        print(f"planning select -> split 10% -> canary -> gate -> rest (25% batches) over {N} hosts, "
              f"best and median of {ROUNDS}")
        for name, fn in (("engine (plan_request)", engine), ("POST /api/graphs/plan", http)):
            times = timed(fn)
            print(f"  {name:<24} best {min(times) * 1000:7.1f} ms   median {statistics.median(times) * 1000:7.1f} ms")


if __name__ == "__main__":
    try:
        main()
    finally:
        import shutil
        shutil.rmtree(HOME, ignore_errors=True)
