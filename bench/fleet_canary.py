"""The canary of bench/fleet.py: examples/canary-update.json over 100 simulated hosts.

The shipped example's graph as it is (select, volume, prepare, canary switch, report, e-mail,
approval, the rest, commit, and the rollback branch), changed only where 100 hosts on one
machine need it:
- the rest go in batches of 10% with max_failures 3 (the example: one host at a time, none);
- the canary's switch takes the port from what runs on each host, as the example's rest does,
  instead of the graph's one `port`: every host of a real fleet serves on 8110, but these 100
  share one network stack, so each host's instance was first deployed on a port of its own.
Each host runs the example app (examples/app) under its own supervisord in its own runtime
(NEBHX_HOME/hosts/NAME): release 1.0.0 serving before the run (a first deploy with the same
bricks, as an earlier run would have left it), 2.0.0 prepared, switched and checked by the
run. No balancer: the example's `lb_name`/`lb_stats` are empty by default (none on the hosts),
and 100 HAProxies would add nothing the canary measures. The e-mail goes to an SMTP server of
this bench; the bench approves the gate as soon as it waits.
"""
from __future__ import annotations

import http.client
import json
import multiprocessing
import shutil
import socket
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "canary-update.json"
V1, V2 = "1.0.0", "2.0.0"


def canary_graph() -> dict:
    doc = json.loads(EXAMPLE.read_text())
    nodes = {n["id"]: n for n in doc["nodes"]}
    nodes["rest"].update(batch="10%", max_failures=3, label="Switch the rest, 10% at a time (as they run now)")
    del nodes["canary"]["params"]["port"]  # each host's own port, as it runs (see above)
    return doc


HOOK = "    args = ap.parse_args(argv)\n"
REFUSE = "refuse-2.0.0"  # in a host's data volume: 2.0.0 exits at start there (--failing)
CRASH = (f"    if args.data and os.path.exists(os.path.join(args.data, {REFUSE!r})):\n"
         f"        raise SystemExit('2.0.0 cannot start: this host\\'s data needs a migration')\n")


def sources(home: Path) -> dict[str, str]:
    """The example app as releases 1.0.0 and 2.0.0 (its VERSION file says which); 2.0.0 exits at
    start on a host whose data volume holds the file ``REFUSE``."""
    out = {}
    for version in (V1, V2):
        folder = home / "src" / version
        shutil.copytree(ROOT / "examples" / "app", folder, ignore=shutil.ignore_patterns("__pycache__"))
        (folder / "VERSION").write_text(version + "\n")
        if version == V2:
            app = folder / "webapp.py"
            app.write_text(app.read_text().replace(HOOK, HOOK + CRASH))
        out[version] = str(folder)
    return out


def refuse(hosts: Path, names: list[str]) -> None:
    """2.0.0 will not start on these hosts (their data volume says so)."""
    from nebhx.runtime import HostRuntime
    for name in names:
        (HostRuntime(name, hosts / name).volumes.open("web-data").path / REFUSE).write_text("")


def _deploy_v1(args: tuple[str, Path, str, int]) -> None:
    """Release 1.0.0 serving on ``port`` of host ``name``, as a first deploy leaves it."""
    name, hosts, source, port = args
    from nebhx import Context
    from nebhx.bricks.registry import get_registry
    from nebhx.runtime import HostRuntime
    doc = json.loads(EXAMPLE.read_text())
    canary = next(n for n in doc["nodes"] if n["id"] == "canary")["params"]
    profiles = {"web": {"values": {"greeting": "hello from Nebh-X, release 1"},
                        "templates": next(i for i in doc["inputs"] if i["name"] == "profiles")["default"]["web"]["templates"]}}
    rt = HostRuntime(name, hosts / name)
    ctx = Context(run_id="first-deploy", node_id="first", runtime=rt, host=name)
    palette = get_registry()
    palette.get("storage.volume")()(ctx, host=name, name="web-data", driver="dir")
    palette.get("rollout.prepare")()(ctx, host=name, service="web", source=source, release_id=V1,
                                     profiles=profiles, profile="web")
    palette.get("rollout.switch")()(ctx, host=name, service="web", command=canary["command"], port=port,
                                    volume="web-data", ready_http="/health", ready_timeout_s=60)


def deploy_v1(hosts: Path, names: list[str], source: str, ports: dict[str, int], pool: int) -> float:
    """Every host serving 1.0.0; the first alone (it creates the service's user), then ``pool`` at a time."""
    t0 = time.perf_counter()
    jobs = [(n, hosts, source, ports[n]) for n in names]
    _deploy_v1(jobs[0])
    with multiprocessing.get_context("fork").Pool(pool) as p:
        p.map(_deploy_v1, jobs[1:], chunksize=1)
    return time.perf_counter() - t0


def free_ports(n: int, start: int = 21000) -> list[int]:
    """``n`` ports free now, below the kernel's ephemeral range: a port picked by binding to 0
    can be taken by any outgoing connection before its host's app listens on it."""
    out = []
    for port in range(start, 32768):
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
        out.append(port)
        if len(out) == n:
            return out
    raise RuntimeError(f"fewer than {n} free ports from {start}")


def version(port: int) -> str | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/")
        return json.loads(conn.getresponse().read()).get("version")
    except (OSError, ValueError):
        return None
    finally:
        conn.close()


def _t(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def span(items: list[dict]) -> tuple[float, float]:
    ran = [i for i in items if i.get("started_at") and i.get("finished_at")]
    return min(_t(i["started_at"]) for i in ran), max(_t(i["finished_at"]) for i in ran)


def report(run: dict) -> None:
    """Time per node and per batch of the rest, from the run's own timestamps."""
    nodes, t0 = run["nodes"], _t(run["created_at"])
    for node in ("volume", "prepare", "canary"):
        a, b = span(nodes[node]["items"])
        print(f"  {node:<8} ({len(nodes[node]['items'])} hosts): {b - a:6.2f} s (from {a - t0:6.2f} s)")
    approve = nodes["approve"]
    waited = _t(approve["finished_at"]) - _t(approve["started_at"])
    print(f"  approve: waited {waited:.2f} s for the bench's approval")
    rest = nodes["rest"]["items"]
    size = -(-len(rest) // 10)  # the engine's batches: 10% in item order
    prev = None
    for n in range(0, len(rest), size):
        a, b = span(rest[n:n + size])
        gap = f", {a - prev:.2f} s after the previous ended" if prev else ""
        print(f"  rest batch {n // size + 1:2d} ({len(rest[n:n + size])} hosts): {b - a:6.2f} s{gap}")
        prev = b
    failed = [f"{i['item']['name'] if isinstance(i['item'], dict) else i['item']}: {(i['error'] or '')[:90]}"
              for i in rest if i["status"] == "failed"]
    if failed:
        print(f"  rest: {len(failed)} hosts failed (max_failures 3, so the batches went on): {failed}")
    for node in ("commit", "rollback"):
        items = nodes[node].get("items") or []
        if items and any(i.get("started_at") for i in items):
            a, b = span(items)
            done = sum(i["status"] == "succeeded" for i in items)
            print(f"  {node:<8} ({len(items)} hosts): {b - a:6.2f} s, {done} succeeded")
        else:
            print(f"  {node:<8}: {nodes[node]['status']}")
