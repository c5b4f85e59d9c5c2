"""A tiny app that is not the example app, for the newcomer's canary: a shop that lists its items.

    python shop.py --port 9123

``GET /items`` answers JSON with the release (the ``VERSION`` file next to this script) and the
items; ``GET /ping`` answers ``pong`` once it serves. Standard library only.
"""
from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RELEASE = (Path(__file__).resolve().parent / "VERSION").read_text(encoding="utf-8").strip()


class Shop(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/ping":
            self._answer(200, "text/plain", b"pong")
        elif self.path == "/items":
            body = json.dumps({"release": RELEASE, "items": ["apple", "pear"]}).encode()
            self._answer(200, "application/json", body)
        else:
            self._answer(404, "text/plain", b"no such page")

    def _answer(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ThreadingHTTPServer(("127.0.0.1", ap.parse_args().port), Shop).serve_forever()


if __name__ == "__main__":
    main()
