"""Planning a rollout over 100 hosts, each host's state told by its own agent (target: under 1 s).

    .venv/bin/python bench/plan.py
A fresh SQLite store and the embedded broker, the API as its own process (`nebhx api`), and
100 hosts registered with their join tokens (labels role=web and a zone; a third of them run
release r1 of `app`, with r2 staged). Their agents are simulated by one process per core
(tests/graphs/plan_agents.py, each serving every K-th host; NEBHX_BENCH_AGENT_PROCS=1: one):
each host's plan task arrives on its own queue host.NAME through the real broker, the agent's
own code plans its items on the host's own runtime, and the answer goes back over HTTP to the
execution API with that host's token.

Planned: (1) select -> split 10% -> for_each release.switch over the head -> gate -> for_each over
the rest in 25% batches; (2) examples/canary-update.json over the same 100 hosts (volume, prepare,
canary switch, commit and rollback on every host: 500 host items). Each as POST /api/graphs/plan
over HTTP, beside the same plan made in this process with each host's runtime planned here (no
broker, no agent, no HTTP: what the plan costs without asking anyone) as the run's baseline.
Best and median of 10 (or of the number given: `bench/plan.py 3`), and the CPU seconds
(user+sys) one plan costs each process: the API's and each agents process's, or this
process's for the baseline; wall time alone says little on a shared machine.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "graphs")]
HOME = Path(tempfile.mkdtemp(prefix="nebhx-bench-plan-"))
os.environ.update(NEBHX_HOME=str(HOME), NEBHX_DATABASE_URL=f"sqlite:///{HOME / 'store.db'}",
                  XDG_CONFIG_HOME=str(HOME / "config"), NEBHX_HOST_SOURCE_PATHS=str(ROOT / "examples"))
from plan_agents import SimulatedAgents  # noqa: E402
from support import graph, order, wire  # noqa: E402

N, ROUNDS = 100, int(sys.argv[1]) if len(sys.argv) > 1 else 10
# The hosts' agents are simulated by this many processes (a real fleet's plan side by side on
# their own machines; one process would make 100 hosts' plans a queue): NEBHX_BENCH_AGENT_PROCS.
SHARDS = int(os.environ.get("NEBHX_BENCH_AGENT_PROCS") or os.cpu_count() or 1)
NAMES = [f"web{i:03d}" for i in range(N)]


def register_hosts(agents: SimulatedAgents) -> None:
    from nebhx.store.db import session_scope
    from nebhx.store.models import HostRow, utcnow
    with session_scope() as s:
        for i, name in enumerate(NAMES):
            s.add(HostRow(name=name, labels={"role": "web", "zone": "abc"[i % 3]}, last_seen=utcnow()))
    for rid in ("r1", "r2"):
        (HOME / rid).mkdir()
        (HOME / rid / "app.py").write_text(f"print({rid!r})\n")
    for name in NAMES[::3]:
        rt = agents.runtime(name)
        for rid in ("r1", "r2"):
            rt.releases.stage("app", str(HOME / rid), release_id=rid)
        rt.releases.switch("app", "r1")


def rollout() -> dict:
    switch = {"service": "app", "release": {"$input": "release"}}
    return graph("rollout", [
        ("sel", "hosts.select", {"selector": "role=web,zone in (a,b,c)"}),
        ("split", "hosts.split", {"first": "10%"}),
        ("canary", "release.switch", switch, {"for_each": "host"}),
        ("gate", "gate.approval", {}),
        ("rest", "release.switch", switch, {"for_each": "host", "batch": "25%", "pause_s": 60}),
    ], [wire("sel", "hosts", "split", "items"), wire("split", "head", "canary", "host"),
        wire("split", "rest", "rest", "host"), order("canary", "gate"), order("gate", "rest")],
        inputs=[{"name": "release", "type": "string"}])


CASES = {"release.switch canary": (rollout(), {"release": "r2"}),
         "examples/canary-update.json": (json.loads((ROOT / "examples" / "canary-update.json").read_text()),
                                         {"selector": "role=web", "release_id": "6.0.0",
                                          "app_source": str(ROOT / "examples" / "app")})}


def cpu_s(pid: int | None = None) -> float:
    """User+sys CPU seconds of process ``pid`` (None: this one) so far."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn, pids: list[int | None]) -> tuple[list[float], list[float]]:
    """Wall times of ROUNDS calls, and each process's CPU seconds per call."""
    times, cpu0 = [], [cpu_s(p) for p in pids]
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times, [(cpu_s(p) - c) / ROUNDS for p, c in zip(pids, cpu0)]


def told(out: dict) -> int:
    """Host items the agents told (not "cannot tell")."""
    return sum(1 for n in out["nodes"].values() for i in n.get("items", [])
               if i.get("host") and not str(i.get("effect", "")).startswith("cannot tell"))


def start(args: list[str], name: str):
    import subprocess
    log = open(HOME / f"{name}.log", "wb")
    return subprocess.Popen([sys.executable, *args], env=os.environ, stdout=log, stderr=subprocess.STDOUT)


def main() -> None:
    import httpx

    from nebhx.auth.service import add_host
    from nebhx.plans.dryrun import plan_request
    from nebhx.execution.plan_agent import LocalHosts
    from nebhx.store.db import session_scope
    from support import free_port, wait_for
    url = f"http://127.0.0.1:{free_port()}"
    os.environ["NEBHX_URL"] = url
    agents = SimulatedAgents(os.environ["NEBHX_DATABASE_URL"], NAMES, HOME / "hosts")
    register_hosts(agents)
    with session_scope() as s:
        tokens = {name: add_host(s, name=name, labels={}, server=url)["token"] for name in NAMES}
    (HOME / "tokens.json").write_text(json.dumps(tokens))
    procs = [start(["-m", "nebhx.cli.main", "api", "--port", url.rsplit(":", 1)[1]], "api")]
    procs += [start([str(ROOT / "tests" / "graphs" / "plan_agents.py"), str(HOME / "hosts"),
                     str(HOME / "tokens.json"), f"{i}/{SHARDS}"], f"agents{i}") for i in range(SHARDS)]
    local = LocalHosts(agents.runtime)
    try:
        api = httpx.Client(base_url=url, timeout=60, trust_env=False)
        wait_for(lambda: api.get("/api/health").status_code == 200, 60, what="API up")
        print(f"planning over {N} hosts whose agents tell their own state, best and median of {ROUNDS}")
        for case, (doc, inputs) in CASES.items():
            def http() -> dict:
                resp = api.post("/api/graphs/plan", json={"graph": doc, "inputs": inputs})
                assert resp.status_code == 200, resp.text
                return resp.json()

            def in_process() -> dict:
                return plan_request(graph=doc, inputs=inputs, hosts=local)
            first = wait_for(lambda: (out := http()) and told(out) and out, 60, what="agents answering")
            in_process()  # warm as the agents are: CPU per plan is a mean over the rounds
            print(f"  {case}: {told(first)} host items told by their agents")
            for name, fn, pids, who in (
                    ("agents: POST /api/graphs/plan", http, [p.pid for p in procs],
                     ("API", *(f"agents {i}/{SHARDS}" for i in range(SHARDS)))),
                    ("in-process hosts (baseline)", in_process, [None], ("this process",))):
                times, cpus = timed(fn, pids)
                cpu = ", ".join(f"{w} {c:.2f}" for w, c in zip(who, cpus))
                print(f"    {name:<30} best {min(times) * 1000:7.1f} ms   median {statistics.median(times) * 1000:7.1f} ms"
                      f"   CPU s per plan: {cpu}")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    try:
        main()
    finally:
        import shutil
        shutil.rmtree(HOME, ignore_errors=True)
