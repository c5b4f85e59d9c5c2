"""A tiny web app to deploy with Nebh-X: shows its release, its config and its data.

    python webapp.py --port 8001 --config app.json --data /srv/app-data

- release: the ``VERSION`` file next to this script (one release = one folder),
- config: a JSON file, ``{"greeting": "hello"}`` (optional keys ``instance`` and
  ``color`` are shown too when set),
- data: the file ``message.txt`` in the data folder.

``GET /`` answers JSON with all three plus the pid and port; ``GET /health`` answers
``ok``. It listens on 127.0.0.1 unless ``--host`` (or ``--bind``) says otherwise: pass
``--host 0.0.0.0`` when a balancer on another host must reach it.
Standard library only, so a release is this folder and nothing else.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent


def read_text(path: Path, default: str = "") -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return default


class Handler(BaseHTTPRequestHandler):
    server_version = "nebhx-webapp/1"
    config: Path | None = None
    data: Path | None = None

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/health":
            return self.reply(200, b"ok\n", "text/plain")
        if self.path != "/":
            return self.reply(404, b"not found\n", "text/plain")
        config = json.loads(read_text(self.config, "{}")) if self.config else {}
        body = {
            "version": read_text(HERE / "VERSION", "unknown"),
            "greeting": config.get("greeting", ""),
            "message": read_text(self.data / "message.txt") if self.data else "",
            "pid": os.getpid(),
            "port": self.server.server_address[1],
        }
        for key in ("instance", "color"):
            if key in config:
                body[key] = config[key]
        self.reply(200, (json.dumps(body) + "\n").encode(), "application/json")

    def reply(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args) -> None:  # one line per request on stdout
        sys.stdout.write("%s %s\n" % (self.address_string(), fmt % args))
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", "--bind", dest="host", default="127.0.0.1",
                    help="address to listen on; 0.0.0.0 for every interface")
    ap.add_argument("--config", type=Path)
    ap.add_argument("--data", type=Path)
    args = ap.parse_args(argv)
    Handler.config, Handler.data = args.config, args.data
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    # supervisord stops with TERM: close the socket cleanly instead of dying mid-reply.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"serving on {args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
