"""The two launchers side by side: supervisord on this machine, systemd as PID 1 in a booted
Debian tree (tests/systemd_box.py). For each: define and start a small HTTP server until it
answers, switch it to a new definition (new argument, new environment) until the new one
answers, and put the recorded definition back (a rollback) until the old one answers again.

    .venv/bin/python bench/systemd_launcher.py [ROUNDS]

Prints the container's boot time and, per launcher, the median and worst of each step in ms.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests")]
from support import free_port  # noqa: E402
from systemd_box import Box  # noqa: E402

from nebhx.runtime.probes import http_probe  # noqa: E402
from nebhx.runtime.supervisor import Supervisor  # noqa: E402
from nebhx.runtime.systemd import Systemd  # noqa: E402

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
APP = """import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (sys.argv[2] + " " + os.environ.get("V", "")).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def until(port: int, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        res = http_probe(f"http://127.0.0.1:{port}/", contains=text, timeout=1)
        if res.ok:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"no answer {text!r} on {port}: {res.error}")
        time.sleep(0.02)


def rounds(manager, folder: Path) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"start": [], "switch": [], "rollback": []}
    for i in range(ROUNDS):
        port, name = free_port(), f"bench{i}"
        cmd = f"/usr/bin/python3 {folder}/app.py {port}"
        t = time.perf_counter()
        manager.ensure_program(name, cmd + " v1", env={"V": "one"}, start_secs=0)
        until(port, "v1 one")
        times["start"].append(time.perf_counter() - t)
        recorded = manager.program_text(name)
        t = time.perf_counter()
        manager.ensure_program(name, cmd + " v2", env={"V": "two"}, start_secs=0)
        until(port, "v2 two")
        times["switch"].append(time.perf_counter() - t)
        t = time.perf_counter()
        manager.install_program_text(name, recorded)
        until(port, "v1 one")
        times["rollback"].append(time.perf_counter() - t)
        manager.remove(name)
    return times


def show(label: str, times: dict[str, list[float]]) -> None:
    cells = [f"{step} {statistics.median(v) * 1000:.0f} ms (worst {max(v) * 1000:.0f})" for step, v in times.items()]
    print(f"{label:12s} " + ", ".join(cells))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nbx-bench-sd-") as tmp:
        work, home = Path(tmp) / "box", Path(tmp) / "home"
        home.mkdir(parents=True)
        (home / "app.py").write_text(APP)
        box = Box(work, binds=[home])
        t = time.perf_counter()
        try:
            box.boot()
            print(f"container boot (nspawn -b to 'running'): {(time.perf_counter() - t) * 1000:.0f} ms")
            sd = Systemd(home / "systemd", unit_dir=box.root / "etc/systemd/system", systemctl=box.systemctl)
            sv = Supervisor(home / "supervisor")
            try:
                show("supervisord", rounds(sv, home))
            finally:
                sv.shutdown()
            show("systemd", rounds(sd, home))
        finally:
            box.shutdown()


if __name__ == "__main__":
    main()
