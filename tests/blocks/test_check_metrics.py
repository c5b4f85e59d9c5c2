"""check.metrics against Debian's real Prometheus scraping real apps (127.0.0.1 only): a canary
with 5xx errors fails on its error ratio, a like-for-like one passes, and in a run the failed
check triggers the rollback of the canary."""
from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from nebhx import Context
from nebhx.bricks.base import BrickFailed
from nebhx.bricks.registry import load_registry
from support import Stack, free_port, graph, make_env, order, wait_for

ROOT = Path(__file__).resolve().parents[2]
PALETTE = load_registry([ROOT / "blocks"])
APP = ROOT / "tests" / "apps" / "flakyapp.py"


def start_app(tmp: Path, name: str, port: int, *args: str) -> subprocess.Popen:
    log = open(tmp / f"{name}.log", "ab")
    proc = subprocess.Popen([sys.executable, str(APP), "--port", str(port), *args], stdout=log,
                            stderr=subprocess.STDOUT)
    wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200, 20, what=f"{name} up")
    return proc


def start_prometheus(tmp: Path, targets: dict[str, int]) -> tuple[subprocess.Popen, str]:
    exe = shutil.which("prometheus")
    if exe is None:
        pytest.fail("Debian's prometheus is not installed: apt-get install -y prometheus (deps/apt.txt)")
    jobs = "".join(f"  - job_name: {job}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
                   for job, port in targets.items())
    (tmp / "prometheus.yml").write_text(f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                        f"scrape_configs:\n{jobs}")
    port = free_port()
    log = open(tmp / "prometheus.log", "ab")
    proc = subprocess.Popen([exe, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: httpx.get(url + "/-/ready").status_code == 200, 60, what="prometheus ready")
    return proc, url


class Traffic(threading.Thread):
    """Steady GET / to each port, so rates have something to measure."""

    def __init__(self, ports: list[int]):
        super().__init__(daemon=True)
        self.ports, self.stop = ports, threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=2) as c:
            while not self.stop.wait(0.02):
                for port in self.ports:
                    try:
                        c.get(f"http://127.0.0.1:{port}/")
                    except httpx.HTTPError:
                        pass  # not up yet, or being restarted by the rollback


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prom")
    ports = {"baseline": free_port(), "canary": free_port(), "deployed": free_port()}
    apps = [start_app(tmp, "baseline", ports["baseline"]),
            start_app(tmp, "canary", ports["canary"], "--error-ratio", "0.5")]
    prom, url = start_prometheus(tmp, ports)
    traffic = Traffic(list(ports.values()))
    traffic.start()
    yield url, ports
    traffic.stop.set()
    for proc in (*apps, prom):
        proc.terminate()
        proc.wait(timeout=20)


def check(url: str, **extra):
    inputs = {"prometheus": url, "baseline": 'job="baseline"', "window": "5s", "samples": 15, "interval_s": 1, **extra}
    return PALETTE.get("check.metrics")()(Context(), **inputs)


def test_a_canary_with_errors_fails_on_its_error_ratio(measured):
    url, _ = measured
    with pytest.raises(BrickFailed, match=r"canary is worse than its baseline: error ratio 0\.[3-6]\d* > max_error_ratio 0\.05"):
        check(url, canary='job="canary"')


def test_a_canary_like_its_baseline_passes(measured):
    url, _ = measured
    wait_for(lambda: check(url, canary='job="baseline"', samples=1).ok, 30, interval=1, what="baseline data")
    # The same job read twice: its error ratio is the baseline's exactly, but its latency quantile
    # over a 5 s window moves with the machine's load between the two reads, so give it room.
    out = check(url, canary='job="baseline"', samples=2, max_latency_ratio=10)
    assert out.ok and len(out.readings) == 2
    last = out.readings[-1]
    assert last["canary_errors"] == 0 and last["baseline_errors"] == 0 and last["canary_latency"] > 0
    assert last["problems"] == []


def test_bad_inputs_say_what_is_wrong(measured):
    url, _ = measured
    with pytest.raises(BrickFailed, match="refused the query"):
        check(url, canary='job="canary"', error_ratio_query="sum(", samples=1)
    with pytest.raises(BrickFailed, match="no data for the canary"):
        check(url, canary='job="nobody"', samples=1)
    with pytest.raises(BrickFailed, match="did not answer"):
        check(f"http://127.0.0.1:{free_port()}", canary='job="canary"', samples=1, timeout_s=1)


def test_in_a_run_the_failed_check_rolls_the_canary_back(measured, tmp_path):
    url, ports = measured
    port = ports["deployed"]
    run_app = {"host": "local", "service": "shopweb", "port": port, "ready_http": "/health", "advertise_host": "127.0.0.1"}
    bad = f"{sys.executable} {APP} --port {{port}} --error-ratio 0.5"
    good = f"{sys.executable} {APP} --port {{port}}"
    s = Stack(tmp_path, make_env(tmp_path)).start()
    try:
        run = s.run(graph("canary-by-metrics", [
            ("deploy", "service.run", {**run_app, "command": bad}),
            ("judge", "check.metrics", {"prometheus": url, "canary": 'job="deployed"', "baseline": 'job="baseline"',
                                        "window": "5s", "samples": 20, "interval_s": 1}),
            ("rollback", "service.run", {**run_app, "command": good}, {"trigger": "any_failed"})],
            [order("deploy", "judge"), order("judge", "rollback")]), timeout=120)
        nodes = run["nodes"]
        assert nodes["judge"]["status"] == "failed" and "error ratio" in nodes["judge"]["error"]
        assert nodes["rollback"]["status"] == "succeeded", nodes["rollback"]["error"]
        assert nodes["rollback"]["outputs"]["pid"] != nodes["deploy"]["outputs"]["pid"]
        codes = {httpx.get(f"http://127.0.0.1:{port}/").status_code for _ in range(10)}
        assert codes == {200}  # rolled back: no more errors
    finally:
        s.run(graph("stop", [("stop", "service.stop", {"host": "local", "service": "shopweb", "remove": True})]))
        s.stop()
