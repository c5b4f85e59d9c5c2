"""The agent-check responder of one host: tells each balancer what to do with a backend here.

HAProxy (``agent-check agent-port P agent-send "<server>\\n"``, see ``haproxy_cfg``) connects
to this host every ``agent-inter``, sends the server's name and reads one word back. The
word is the content of ``<dir>/<server>`` when that file holds ``drain``, ``ready`` or
``maint``, else ``up`` (which changes nothing HAProxy was told otherwise, such as an
operator's drain). A switch on this host writes the file; the balancer, wherever it runs,
acts on it within one agent interval. Nothing can be set through the port: it only reads.

Standard library only, run as ``python3 -I lbagent.py --port P --dir D`` under the host's
supervisord, so it needs nothing of Nebh-X's environment.
"""
from __future__ import annotations

import argparse
import re
import socketserver
from pathlib import Path

KEY = re.compile(r"^srv_[A-Za-z0-9_]{1,120}$")
WORDS = ("drain", "ready", "maint")


def answer(folder: Path, key: str) -> str:
    if not KEY.match(key):
        return "up"
    try:
        word = (folder / key).read_text().strip()
    except OSError:
        return "up"
    return word if word in WORDS else "up"


def serve(port: int, folder: Path, host: str = "0.0.0.0") -> socketserver.ThreadingTCPServer:
    class Handler(socketserver.StreamRequestHandler):
        timeout = 2

        def handle(self) -> None:
            try:
                key = self.rfile.readline(200).decode("ascii", "replace").strip()
                self.wfile.write((answer(folder, key) + "\n").encode())
            except OSError:
                return  # the balancer hung up (a reload, a stop): nothing to answer

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    return socketserver.ThreadingTCPServer((host, port), Handler)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--host", default="0.0.0.0")
    args = ap.parse_args()
    serve(args.port, args.dir, args.host).serve_forever()


if __name__ == "__main__":
    main()
