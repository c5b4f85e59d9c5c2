"""Staged updates on one machine: real supervisord, HAProxy and the example app on loopback.

    .venv/bin/python bench/rollout.py [rounds]

1. Rolling switch of 2 backends (rollout.switch, one after the other) under constant load
   through HAProxy: failed requests, and p50/p99 latency before, during and after.
2. Rollback to a pre-staged release (rollout.rollback, keep_new): time from the decision
   to the instance serving the old release, and until the brick is done (backend enabled).
"""
from __future__ import annotations

import http.client
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from support import free_port  # noqa: E402

from nebhx import Context  # noqa: E402
from nebhx.bricks.registry import load_registry  # noqa: E402
from nebhx.runtime import HostRuntime  # noqa: E402
from nebhx.runtime.haproxy import HAProxy  # noqa: E402

PALETTE = load_registry([ROOT / "blocks"])
CMD = f"{sys.executable} {{release}}/webapp.py --port {{port}} --config {{config}}/app.json --data {{data}}"
PROFILES = {"web": {"values": {"greeting": "hi"}, "templates": {"app.json": '{"greeting": "{{ greeting }}"}\n'}}}


def version_at(port: int) -> str | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        return json.loads(resp.read())["version"] if resp.status == 200 else None
    except (OSError, http.client.HTTPException, ValueError):
        return None  # the instance is being stopped or started under us: not serving yet
    finally:
        conn.close()


class Load:
    """Three clients on fresh connections; every request's (start, latency, ok)."""

    def __init__(self, port: int):
        self.port, self.rows, self.stop = port, [], threading.Event()
        self.threads = [threading.Thread(target=self.loop) for _ in range(3)]

    def loop(self) -> None:
        while not self.stop.is_set():
            t0 = time.monotonic()
            ok = version_at(self.port) is not None
            self.rows.append((t0, time.monotonic() - t0, ok))

    def window(self, start: float, end: float) -> str:
        rows = [r for r in self.rows if start <= r[0] < end]
        lat = sorted(r[1] * 1000 for r in rows)
        failed = sum(1 for r in rows if not r[2])
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")  # noqa: E731
        return f"{len(rows):6d} requests, {failed} failed, p50 {p(0.5):6.2f} ms, p99 {p(0.99):6.2f} ms"


def main(rounds: int = 5) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="nebhx-bench-rollout-"))
    rt = HostRuntime("h1", tmp / "h1")
    rt.address = "127.0.0.1"
    ctx = Context(runtime=rt, host="h1")
    brick = lambda bid, **kw: PALETTE.get(bid)()(ctx, host="h1", service="web", **kw)  # noqa: E731
    ports = {"a": free_port(), "b": free_port()}
    try:
        for version in ("1.0.0", "2.0.0"):
            src = tmp / f"src-{version}"
            shutil.copytree(ROOT / "examples" / "app", src, ignore=shutil.ignore_patterns("__pycache__"))
            (src / "VERSION").write_text(version + "\n")
            config = brick("rollout.prepare", source=str(src), release_id=version, profiles=PROFILES,
                           profile="web").config_version
        common = dict(command=CMD, volume="data", ready_http="/health", drain_timeout_s=10,
                      config_version=config)
        rt.volumes.create("data")
        for inst, port in ports.items():
            brick("rollout.switch", instance=inst, port=port, release_id="1.0.0", **common)
        lb_port = free_port()
        PALETTE.get("lb.haproxy")()(ctx, host="h1", name="web", bind_port=lb_port, health_path="/health",
              backends=[f"127.0.0.1:{p}" for p in ports.values()])
        switch = lambda inst, rel: brick("rollout.switch", instance=inst, port=ports[inst],  # noqa: E731
                                         release_id=rel, lb_name="web", **common)

        load = Load(lb_port)
        for t in load.threads:
            t.start()
        t0 = time.monotonic()
        time.sleep(2)
        t1 = time.monotonic()
        steps = {inst: switch(inst, "2.0.0").steps for inst in ports}
        t2 = time.monotonic()
        time.sleep(2)
        t3 = time.monotonic()
        load.stop.set()
        for t in load.threads:
            t.join(10)
        print(f"rolling switch of 2 backends to 2.0.0 through HAProxy ({t2 - t1:.2f} s):")
        print(f"  before  {load.window(t0, t1)}")
        print(f"  during  {load.window(t1, t2)}")
        print(f"  after   {load.window(t2, t3)}")
        print("  steps of a: " + ", ".join(f"{s['step']} {s['seconds'] * 1000:.0f} ms" for s in steps["a"]))

        serving, done = [], []
        for _ in range(rounds):
            start, seen = time.monotonic(), []

            def watch() -> None:
                while not seen and time.monotonic() - start < 10:
                    if version_at(ports["a"]) == "1.0.0":
                        seen.append(time.monotonic() - start)
                    time.sleep(0.002)

            watcher = threading.Thread(target=watch)
            watcher.start()
            brick("rollout.rollback", instance="a", lb_name="web", data_policy="keep_new")
            done.append(time.monotonic() - start)
            watcher.join(15)
            serving.append(seen[0] if seen else float("nan"))
            switch("a", "2.0.0")
        print(f"rollback to the pre-staged 1.0.0 ({rounds} rounds): serving the old release after "
              f"median {statistics.median(serving) * 1000:.0f} ms (max {max(serving) * 1000:.0f} ms); "
              f"brick done (backend enabled) after median {statistics.median(done) * 1000:.0f} ms "
              f"(max {max(done) * 1000:.0f} ms)")
    finally:
        for lb_dir in (rt.home / "haproxy").glob("*"):
            HAProxy(lb_dir).stop()
        rt.supervisor.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
