"""A web app that misbehaves on purpose, for liveness and metrics tests (standard library only).

    python flakyapp.py --port 8001 [--data DIR] [--error-ratio 0.5] [--delay-ms 20]

- ``GET /health`` answers ``ok``, or never answers while the file ``DIR/hang`` exists (a
  hung process: still running, no longer serving);
- ``GET /`` answers 500 for the given share of requests (every k-th, deterministic), else 200,
  after ``--delay-ms``;
- ``GET /metrics`` is Prometheus' text format: ``http_requests_total{code}`` and the
  histogram ``http_request_duration_seconds`` of ``GET /``.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class Stats:
    lock = threading.Lock()
    codes: dict[str, int] = {}
    buckets = [0] * len(BUCKETS)
    count = 0
    total = 0.0

    @classmethod
    def observe(cls, code: int, seconds: float) -> None:
        with cls.lock:
            cls.codes[str(code)] = cls.codes.get(str(code), 0) + 1
            cls.count += 1
            cls.total += seconds
            for i, le in enumerate(BUCKETS):
                if seconds <= le:
                    cls.buckets[i] += 1

    @classmethod
    def text(cls) -> str:
        with cls.lock:
            lines = ["# TYPE http_requests_total counter"]
            lines += [f'http_requests_total{{code="{c}"}} {n}' for c, n in sorted(cls.codes.items())]
            lines.append("# TYPE http_request_duration_seconds histogram")
            lines += [f'http_request_duration_seconds_bucket{{le="{le}"}} {n}' for le, n in zip(BUCKETS, cls.buckets)]
            lines += [f'http_request_duration_seconds_bucket{{le="+Inf"}} {cls.count}',
                      f"http_request_duration_seconds_sum {cls.total}",
                      f"http_request_duration_seconds_count {cls.count}"]
        return "\n".join(lines) + "\n"


class Handler(BaseHTTPRequestHandler):
    data: Path | None = None
    every = 0  # every k-th request to / fails; 0: none
    delay = 0.0
    seen = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/health":
            while self.data is not None and (self.data / "hang").exists():
                time.sleep(0.2)
            return self.reply(200, "ok\n")
        if self.path == "/metrics":
            return self.reply(200, Stats.text())
        start = time.monotonic()
        time.sleep(self.delay)
        with Stats.lock:
            Handler.seen += 1
            fail = self.every and Handler.seen % self.every == 0
        code = 500 if fail else 200
        Stats.observe(code, time.monotonic() - start)
        self.reply(code, "error\n" if fail else "hello\n")

    def reply(self, code: int, body: str) -> None:
        raw = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, fmt: str, *args) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--data", type=Path)
    ap.add_argument("--error-ratio", type=float, default=0.0)
    ap.add_argument("--delay-ms", type=float, default=5.0)
    args = ap.parse_args()
    Handler.data, Handler.delay = args.data, args.delay_ms / 1000
    Handler.every = round(1 / args.error_ratio) if args.error_ratio > 0 else 0
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"serving on {args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        sys.exit(0)


if __name__ == "__main__":
    main()
