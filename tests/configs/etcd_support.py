"""A private etcd (Debian `etcd-server`) on free loopback ports, and the graph an etcd trigger
starts: profiles read from etcd, then two services (conf-a, conf-b, the example app) prepared
and switched on host `local`, so a change to one profile restarts only the service whose
rendered files changed. Shared by tests/configs/test_etcd*.py and bench/etcd_config.py."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from support import free_port, graph, wait_for, wire  # noqa: E402

PREFIX = "/nebhx/profiles/"
TEMPLATE = '{"greeting": {{ greeting | tojson }}}\n'
CMD = "python3 {release}/webapp.py --port {port} --config {config}/app.json"


class EtcdServer:
    """``etcd`` as a plain process with its data in ``folder``; ``url`` is its client URL."""

    def __init__(self, folder: Path):
        exe = shutil.which("etcd")
        if exe is None:
            raise RuntimeError("etcd is not installed: apt-get install -y etcd-server (deps/apt.txt lists it)")
        client, peer = free_port(), free_port()
        self.url = f"http://127.0.0.1:{client}"
        self.log = open(folder / "etcd.log", "ab")
        self.proc = subprocess.Popen(
            [exe, "--name", "nbx", "--data-dir", str(folder / "etcd-data"),
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls",
             f"http://127.0.0.1:{peer}", "--initial-cluster", f"nbx=http://127.0.0.1:{peer}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: httpx.get(self.url + "/health", timeout=1, trust_env=False).json()["health"] == "true",
                 30, what=f"etcd at {self.url}")

    def put(self, name: str, doc: dict) -> int:
        from nebhx.runtime.etcd import Etcd
        return Etcd(self.url).put(PREFIX + name, json.dumps(doc))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.log.close()


def profiles(greeting_a: str = "hello a", greeting_b: str = "hello b", note_b: str = "x") -> dict:
    """conf-base (the template) and one child per service; `note` is in no template."""
    return {"conf-base": {"templates": {"app.json": TEMPLATE}},
            "conf-a": {"parents": ["conf-base"], "values": {"greeting": greeting_a}},
            "conf-b": {"parents": ["conf-base"], "values": {"greeting": greeting_b, "note": note_b}}}


def etcd_graph(etcd_url: str, ports: dict[str, int], trigger: str = "conf-etcd") -> dict:
    nodes = [("profiles", "config.profiles", {"store": "etcd", "etcd_url": etcd_url}),
             ("explain_a", "config.render", {"host": "local", "service": "conf-a", "profile": "conf-a"})]
    edges = [wire("profiles", "profiles", "explain_a", "profiles"),
             wire("profiles", "sources", "explain_a", "sources")]
    for s in ("a", "b"):
        nodes += [(f"prepare_{s}", "rollout.prepare", {"host": "local", "service": f"conf-{s}",
                                                      "source": str(ROOT / "examples" / "app"),
                                                      "release_id": "v1", "profile": f"conf-{s}"}),
                  (f"switch_{s}", "rollout.switch", {"host": "local", "service": f"conf-{s}", "command": CMD,
                                                    "port": ports[s], "ready_http": "/health",
                                                    "ready_timeout_s": 20, "data_policy": "keep"})]
        edges += [wire("profiles", "profiles", f"prepare_{s}", "profiles"),
                  wire(f"prepare_{s}", "release_id", f"switch_{s}", "release_id"),
                  wire(f"prepare_{s}", "config_version", f"switch_{s}", "config_version")]
    return graph("conf-etcd", nodes, edges,
                 meta={"triggers": [{"name": trigger, "kind": "etcd", "prefix": PREFIX, "endpoint": etcd_url}]})


def greeting(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/", timeout=5, trust_env=False).json()["greeting"]
