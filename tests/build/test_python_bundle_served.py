"""build.python's bundle on a real stack: a run checks out a pyproject.toml package, builds
its wheel and bundle (its dependency's wheel from a local wheel folder), stages the bundle on
host `local` (the venv is made at stage time, from the bundle's wheels only), switches and
runs the package's console script under the host's supervisor; the app answers with the
version and its dependency's greeting, and the staged release names the build's commit."""
from __future__ import annotations

import json

import httpx

from support import free_port, graph, wire
from test_build_python import package, repo, wheelhouse

SERVER = """import argparse, json
from http.server import BaseHTTPRequestHandler, HTTPServer

import tinydep


class Answer(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"version": "1.2.0", "greeting": tinydep.GREETING}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    HTTPServer(("127.0.0.1", ap.parse_args().port), Answer).serve_forever()
"""


def bundle_graph(bare: str, house: str, port: int) -> dict:
    return graph("python-bundle-served", [
        ("co", "build.checkout", {"repository": bare, "ref": "main"}),
        ("py", "build.python", {"bundle": True, "pip_args": ["--no-index", "--find-links", house]}),
        ("stage", "release.stage", {"host": "local", "service": "tinyapp"}),
        ("switch", "release.switch", {"host": "local", "service": "tinyapp"}),
        ("serve", "service.run", {"host": "local", "service": "tinyapp", "port": port, "ready_http": "/",
                                  "command": "{release}/venv/bin/tinyapp --port {port}"}),
    ], [wire("co", "workdir", "py", "workdir"), wire("py", "source", "stage", "source"),
        wire("stage", "release", "switch", "release"), wire("switch", "path", "serve", "release_path")])


def test_a_built_bundle_is_staged_as_a_venv_and_served(stack, tmp_path):
    house = wheelhouse(tmp_path)
    bare = repo(tmp_path, lambda c: package(c, "tinyapp", "1.2.0", SERVER, ["tinydep==0.3"], script=True))
    port = free_port()
    run = stack.run(bundle_graph(bare, str(house), port), timeout=240)
    assert run["status"] == "succeeded", {k: n["error"] for k, n in run["nodes"].items() if n["error"]}
    built = run["nodes"]["py"]["outputs"]
    assert built["source"].startswith("artifact:tinyapp-1.2.0-bundle.tar.gz@sha256:")
    answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=5).json()
    assert answer == {"version": "1.2.0", "greeting": "hello from tinydep"}
    current = stack.home / "hosts" / "local" / "services" / "tinyapp" / "current"
    assert (current / "venv" / "bin" / "tinyapp").is_file()
    prov = json.loads((current / ".nebhx-provenance.json").read_text())
    assert prov["commit"] == run["nodes"]["co"]["outputs"]["commit"] and prov["run"] == run["id"]
    assert prov["recipe"]["kind"] == "python" and "tinydep-0.3-py3-none-any.whl" in prov["bundled_wheels"]
