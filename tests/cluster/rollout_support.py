"""Shared by the canary suite and the cluster benchmarks: four labelled hosts, the app as
releases, a first deploy of v1 behind HAProxy on the first host, and a load loop."""
from __future__ import annotations

import csv
import email
import http.client
import io
import json
import shutil
import threading
import time
from pathlib import Path

import httpx
from netns import ROOT, Cluster, wait_for

from nebhx.runtime.haproxy_cfg import server_name

PORT, LB_PORT = 8110, 8100
HOSTS = ("h1", "h2", "h3", "h4")
CMD = "python3 {release}/webapp.py --host 0.0.0.0 --port {port} --config {config}/app.json --data {data}"
HOOK = "    args = ap.parse_args(argv)\n"
CRASH = '    raise SystemExit("{v} cannot start: schema mismatch")\n'
CANARY = ROOT / "examples" / "canary-update.json"
SYNC = ROOT / "examples" / "sync-update.json"


def web_cluster(workdir: Path) -> Cluster:
    return Cluster(workdir, hosts=HOSTS, labels={h: {"role": "web"} for h in HOSTS})


def profiles(greeting: str) -> dict:
    return {"web": {"values": {"greeting": greeting},
                    "templates": {"app.json": "{\"greeting\": {{ greeting | tojson }}}\n"}}}


def release(workdir: Path, version: str, crash: bool = False) -> str:
    """The example app as release ``version`` (one that exits at start with ``crash``)."""
    folder = workdir / "src" / version
    if not folder.exists():
        shutil.copytree(ROOT / "examples" / "app", folder, ignore=shutil.ignore_patterns("__pycache__"))
        (folder / "VERSION").write_text(version + "\n")
        if crash:
            text = (folder / "webapp.py").read_text()
            (folder / "webapp.py").write_text(text.replace(HOOK, HOOK + CRASH.format(v=version)))
    return str(folder)


def first_deploy(cluster: Cluster) -> dict:
    """v1 on every role=web host (rollout.prepare + rollout.switch, data volume web-data),
    HAProxy on the first host in front of all of them."""
    node = lambda nid, brick, params, **kw: {"id": nid, "brick": brick, "params": params,  # noqa: E731
                                             "position": {"x": 0, "y": 0}, **kw}
    edge = lambda a, pa, b, pb: ({"from": {"node": a, "port": pa}, "to": {"node": b, "port": pb}}  # noqa: E731
                                 if pa else {"from": {"node": a}, "to": {"node": b}})
    return {
        "format": "nebhx/graph@1", "name": "web-first-deploy",
        "inputs": [{"name": "source", "type": "string"}, {"name": "backends", "type": "Address[]"},
                   {"name": "lb_host", "type": "HostRef"}],
        "outputs": [{"name": "pids", "from": {"node": "switch", "port": "pid"}}],
        "nodes": [
            node("select", "hosts.select", {"selector": "role=web"}),
            node("volume", "storage.volume", {"name": "web-data", "driver": "dir"}, for_each="host"),
            node("prepare", "rollout.prepare", {"service": "web", "source": {"$input": "source"},
                                                "release_id": "1.0.0", "profiles": profiles("hello, v1"),
                                                "profile": "web"}, for_each="host"),
            node("switch", "rollout.switch", {"service": "web", "command": CMD, "port": PORT,
                                              "volume": "web-data", "data_policy": "keep",
                                              "ready_http": "/health"}, for_each="host"),
            node("lb", "lb.haproxy", {"host": {"$input": "lb_host"}, "name": "web", "bind_port": LB_PORT,
                                      "bind_host": "0.0.0.0", "health_path": "/health",
                                      "backends": {"$input": "backends"}}),
        ],
        "edges": [edge("select", "hosts", "volume", "host"), edge("select", "hosts", "prepare", "host"),
                  edge("select", "hosts", "switch", "host"), edge("volume", None, "switch", None),
                  edge("prepare", None, "switch", None), edge("switch", None, "lb", None)],
    }


def deploy_v1(cluster: Cluster) -> dict:
    inputs = {"source": release(cluster.workdir, "1.0.0"), "lb_host": cluster.hosts[0],
              "backends": [f"{cluster.address(h)}:{PORT}" for h in cluster.hosts]}
    run = cluster.run(first_deploy(cluster), inputs)
    bad = {k: n["error"] for k, n in run["nodes"].items() if n["status"] != "succeeded"}
    assert run["status"] == "succeeded", bad
    return run


def canary_inputs(cluster: Cluster, version: str, smtp_port: int, crash: bool = False) -> dict:
    return {"selector": "role=web", "app_source": release(cluster.workdir, version, crash),
            "release_id": version, "port": PORT, "profiles": profiles(f"hello, v{version}"),
            "smtp_host": cluster.gateway, "smtp_port": smtp_port}


def start(cluster: Cluster, doc: dict, inputs: dict) -> str:
    with cluster.client() as c:
        resp = c.post("/runs", json={"graph": doc, "inputs": inputs})
        assert resp.status_code == 201, resp.text
        return resp.json()["id"]


def node_status(cluster: Cluster, run_id: str, node: str, want: str, timeout: float = 120) -> dict:
    with cluster.client() as c:
        def seen():
            run = c.get(f"/runs/{run_id}").json()
            if run["finished_at"] and run["nodes"][node]["status"] != want:
                raise AssertionError(f"run ended {run['status']} with {node} "
                                     f"{run['nodes'][node]['status']}: {run['error']}")
            return run["nodes"][node]["status"] == want and run
        return wait_for(seen, timeout, 0.1, what=f"{node} {want}")


def finished(cluster: Cluster, run_id: str, timeout: float = 180) -> dict:
    with cluster.client() as c:
        return wait_for(lambda: (r := c.get(f"/runs/{run_id}").json())["finished_at"] and r,
                        timeout, 0.1, what=f"run {run_id} finished")


def app(cluster: Cluster, host: str) -> dict:
    """What the app on ``host`` answers directly: version, greeting, pid."""
    resp = httpx.get(f"http://{cluster.address(host)}:{PORT}/", timeout=5, trust_env=False)
    assert resp.status_code == 200, resp.text
    return resp.json()


def mail_text(envelope) -> str:
    msg = email.message_from_bytes(envelope.content)
    return f"Subject: {msg['Subject']}\n\n" + msg.get_payload(decode=True).decode()


class Load:
    """Clients on fresh connections through HAProxy until stopped (at most ``limit_s``):
    every request's (start, latency, ok, version)."""

    def __init__(self, address: str, port: int = LB_PORT, clients: int = 3, limit_s: float = 180):
        self.address, self.port, self.limit_s = address, port, limit_s
        self.rows: list[tuple[float, float, bool, str | None]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.loop, daemon=True) for _ in range(clients)]

    def one(self) -> str | None:
        conn = http.client.HTTPConnection(self.address, self.port, timeout=10)
        try:
            conn.request("GET", "/")
            resp = conn.getresponse()
            body = resp.read()
            return json.loads(body)["version"] if resp.status == 200 else None
        except (OSError, ValueError, KeyError):
            return None
        finally:
            conn.close()

    def loop(self) -> None:
        end = time.monotonic() + self.limit_s
        while not self.stop.is_set() and time.monotonic() < end:
            t0 = time.monotonic()
            version = self.one()
            self.rows.append((t0, time.monotonic() - t0, version is not None, version))

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(15)

    def window(self, start: float = 0, end: float = float("inf")) -> dict:
        rows = [r for r in self.rows if start <= r[0] < end]
        lat = sorted(r[1] * 1000 for r in rows)
        pick = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 2) if lat else None  # noqa: E731
        return {"requests": len(rows), "failed": sum(1 for r in rows if not r[2]),
                "p50_ms": pick(0.5), "p99_ms": pick(0.99),
                "versions": sorted({r[3] for r in rows if r[3]})}


# -- one central HAProxy on its own host ------------------------------------------------------
CENTRAL = ("lb", "h1", "h2", "h3")  # HAProxy alone on lb; the app on h1..h3 (role=web)
AGENT_PORT, STATS_PORT = 8099, 8404
STANDBY_PORT = 8111  # each host's second slot (a switch with a standby starts the new release there)
ENV = {"motd": "hello", "tier": "gold"}


def central_cluster(workdir: Path) -> Cluster:
    return Cluster(workdir, hosts=CENTRAL, labels={h: {"role": "web"} for h in CENTRAL[1:]})


def central_deploy(cluster: Cluster) -> dict:
    """v1 with an environment on h1..h3, HAProxy on host lb in front of them with agent checks
    (agent_port; every 50 ms: an instant rollback takes effect at the next one) and read-only
    stats for the hosts' switches and the test (stats_port); each host's second slot
    (STANDBY_PORT) is a server too, empty until a switch with a standby starts there."""
    doc = first_deploy(cluster)
    web = CENTRAL[1:]
    for node in doc["nodes"]:
        if node["id"] == "switch":
            node["params"]["env"] = ENV
        if node["id"] == "lb":
            node["params"].update(agent_port=AGENT_PORT, agent_inter_ms=50, stats_port=STATS_PORT,
                                  check_inter_ms=500, check_fall=2, check_rise=1,
                                  stats_allow=[cluster.address(h) for h in web] + [cluster.gateway])
    doc["outputs"].append({"name": "stats", "from": {"node": "lb", "port": "stats"}})
    inputs = {"source": release(cluster.workdir, "1.0.0"), "lb_host": "lb",
              "backends": [f"{cluster.address(h)}:{p}" for h in web for p in (PORT, STANDBY_PORT)]}
    run = cluster.run(doc, inputs)
    bad = {k: n["error"] for k, n in run["nodes"].items() if n["status"] != "succeeded"}
    assert run["status"] == "succeeded", bad
    assert run["outputs"]["stats"] == f"{cluster.address('lb')}:{STATS_PORT}"
    return run


def central_inputs(cluster: Cluster, version: str, smtp_port: int, crash: bool = False) -> dict:
    return {**canary_inputs(cluster, version, smtp_port, crash),
            "lb_stats": f"{cluster.address('lb')}:{STATS_PORT}", "lb_agent_port": AGENT_PORT}


def lb_states(cluster: Cluster) -> dict[str, str]:
    """host:port -> status (UP, DOWN, MAINT, DRAIN...) from the central balancer's stats."""
    resp = httpx.get(f"http://{cluster.address('lb')}:{STATS_PORT}/;csv;norefresh", timeout=3,
                     trust_env=False)
    status = {r["svname"]: r["status"] for r in csv.DictReader(io.StringIO(resp.text.lstrip("# ")))}
    return {f"{cluster.address(h)}:{p}": status.get(server_name(f"{cluster.address(h)}:{p}"))
            for h in CENTRAL[1:] for p in (PORT, STANDBY_PORT)}


def standby_entry(cluster: Cluster, host: str, program: str = "web") -> dict | None:
    """The host's keeper entry for a standby (warm or frozen), as runtime/standby.py keeps it."""
    try:
        return json.loads((cluster.workdir / "hosts" / host / "standby" / f"{program}.json").read_text())
    except (OSError, ValueError):
        return None


def as_deployed(cluster: Cluster, host: str) -> tuple[str, dict]:
    """The host's program section of web and its services record (pid and start aside)."""
    home = cluster.workdir / "hosts" / host
    text = (home / "supervisor" / "programs" / "web.conf").read_text()
    rec = json.loads((home / "services" / "web" / "instances" / "default.json").read_text())
    return text, {k: v for k, v in rec.items() if k not in ("pid", "started_at")}
