"""Engine overhead on graphs of a no-op brick, beside raw Celery doing the same shapes.

    .venv/bin/python bench/engine.py [SETUP...]  # Redis+PostgreSQL, Redis+SQLite, embedded, PG with threads
    .venv/bin/python bench/engine.py --concurrency 2 --baseline /tmp/base postgresql
Prints wall time and time per node for: a chain of 50; 10 layers of 10 (each node after
every node of the previous layer); 1 -> 200 -> 1. Same machine, same run, same worker
concurrency for both. ``--baseline DIR`` (a checkout of another revision, e.g. `git worktree
add /tmp/base main`) runs its engine too, in the same run, for a before/after ratio.
Then, engine only, a chain of 50 core.template nodes rendering a small config file each (the
cost of the template budget shows there, beside a baseline's).
Each shape also shows CPU ms per node (user+sys, averaged over the repeats): the engine's
API and worker processes with their children, its database's PostgreSQL backends and Redis;
raw Celery's worker and Redis (its client's polling of results is not counted, though it
costs Redis some). CPU does not move with the rest of the machine's load as wall time does.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]
from support import Stack, create_pg_database, graph, make_env, order, start_redis, wait_for  # noqa: E402

CONCURRENCY = "4"


def shapes() -> dict[str, dict]:
    chain = graph("chain50", [(f"n{i}", "test.noop") for i in range(50)],
                  [order(f"n{i-1}", f"n{i}") for i in range(1, 50)])
    layers = graph("layers10x10", [(f"l{l}_{i}", "test.noop") for l in range(10) for i in range(10)],
                   [order(f"l{l-1}_{a}", f"l{l}_{b}") for l in range(1, 10) for a in range(10) for b in range(10)])
    fan = graph("fan200", [("src", "test.noop"), ("sink", "test.noop")] + [(f"f{i}", "test.noop") for i in range(200)],
                [order("src", f"f{i}") for i in range(200)] + [order(f"f{i}", "sink") for i in range(200)])
    templates = graph("templates50", [(f"t{i}", "core.template", {"template": CONFIG, "values": VALUES})
                                      for i in range(50)], [order(f"t{i-1}", f"t{i}") for i in range(1, 50)])
    return {"chain 50": chain, "layers 10x10": layers, "1->200->1": fan, "templates 50": templates}


CONFIG = ("{% for h in hosts %}server {{ h.name }} {{ h.address }}:{{ port }} check{% if not loop.last %}\n"
          "{% endif %}{% endfor %}\nmaxconn {{ '%d' % (hosts|length * 100) }}\n{{ '{}:{}'.format(bind, port) }}\n"
          "{{ tags|join(',')|upper }}\n")
VALUES = {"hosts": [{"name": f"web{i}", "address": f"10.0.0.{i}"} for i in range(10)], "port": 8080,
          "bind": "0.0.0.0", "tags": ["a", "b", "c"]}


REDIS: list[int] = []  # the Redis server's pid, shared by both sides
CPU: dict[str, dict[str, float]] = {}  # label -> shape -> CPU ms per node


def _proc_stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _tree(roots: list[int]) -> list[int]:
    """These processes and all their descendants (a worker's pool children)."""
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (fields := _proc_stat(int(entry.name))):
            kids.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], list(roots)
    while todo:
        out.append(pid := todo.pop())
        todo += kids.get(pid, [])
    return out


class CpuMeter:
    """CPU seconds (user+sys) spent by some processes and their children, and by the
    PostgreSQL backends of one database: the whole cost of a shape, however noisy the wall
    clock (the rest of the machine's load does not count)."""

    def __init__(self, roots: list[int], db_url: str | None = None):
        self.roots, self.db_url, self.before = roots, db_url, {}

    def _pids(self) -> list[int]:
        pids = _tree(self.roots + REDIS)
        if self.db_url:
            import sqlalchemy as sa
            from nebhx.store.db import get_engine
            with get_engine(self.db_url).connect() as conn:
                pids += conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                             "AND pid <> pg_backend_pid()")).scalars().all()
        return pids

    def _cpu(self) -> dict[int, float]:
        tick = os.sysconf("SC_CLK_TCK")
        return {pid: (int(f[11]) + int(f[12])) / tick for pid in self._pids() if (f := _proc_stat(pid))}

    def start(self) -> None:
        self.before = self._cpu()

    def seconds(self) -> float:
        return sum(v - self.before.get(pid, 0.0) for pid, v in self._cpu().items())


def bench_engine(label: str, env_extra: dict, repeat: int = 5, code: Path | None = None) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="nebhx-bench-"))
    env = make_env(home, **env_extra)
    env["NEBHX_WORKER_CONCURRENCY"] = CONCURRENCY
    if code is not None:  # another revision's engine: its backend first on the path
        env["PYTHONPATH"] = str(code / "backend")
    stack = Stack(home, env).start()
    out = {}
    try:
        stack.run(graph("warm", [("w", "test.noop")]))
        meter = CpuMeter([p.pid for p in stack.procs.values()], env.get("NEBHX_DATABASE_URL"))
        for name, doc in shapes().items():
            best = None
            meter.start()
            for _ in range(repeat):
                run = stack.run(doc, wait=False)
                # Poll rarely and take the server's own times, so watching costs the engine
                # no CPU on this 2-core machine (raw Celery is timed from its result backend).
                run = wait_for(lambda: (r := stack.get_run(run["id"]))["finished_at"] and r, 600, 0.5)
                wall = (datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["created_at"])
                        ).total_seconds()
                assert run["status"] == "succeeded", run["status"]
                best = wall if best is None else min(best, wall)
            out[name] = best
            cpu = CPU.setdefault(label, {})[name] = meter.seconds() / repeat / len(doc["nodes"]) * 1000
            print(f"  {label:<22} {name:<14} {best:7.3f} s  {best / len(doc['nodes']) * 1000:7.2f} ms/node"
                  f"  CPU {cpu:6.2f} ms/node", flush=True)
    finally:
        stack.stop()
    return out


def bench_raw(broker: str, repeat: int = 5) -> dict[str, float]:
    from celery import chain, chord, group
    os.environ["RAW_BROKER"] = os.environ["RAW_BACKEND"] = broker
    import rawcelery
    rawcelery.app.conf.broker_url = rawcelery.app.conf.result_backend = broker
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "rawcelery", "worker", "-c", CONCURRENCY,
                               "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
                              cwd=ROOT / "bench", env={**os.environ}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    noop = rawcelery.noop
    sig = {
        "chain 50": lambda: chain(*[noop.si() for _ in range(50)]),
        "layers 10x10": lambda: chain(*[chord(group(noop.si() for _ in range(10)), noop.si())
                                        if False else group(noop.si() for _ in range(10)) for _ in range(10)]),
        "1->200->1": lambda: chain(noop.si(), chord(group(noop.si() for _ in range(200)), noop.si())),
    }
    sizes = {"chain 50": 50, "layers 10x10": 100, "1->200->1": 202}
    out = {}
    try:
        noop.delay().get(timeout=60, interval=0.005)
        meter = CpuMeter([worker.pid])
        for name, make in sig.items():
            best = None
            meter.start()
            for _ in range(repeat):
                t0 = time.perf_counter()
                make().apply_async().get(timeout=300, interval=0.002)
                wall = time.perf_counter() - t0
                best = wall if best is None else min(best, wall)
            out[name] = best
            cpu = CPU.setdefault("raw celery", {})[name] = meter.seconds() / repeat / sizes[name] * 1000
            print(f"  {'raw celery':<22} {name:<14} {best:7.3f} s  {best / sizes[name] * 1000:7.2f} ms/node"
                  f"  CPU {cpu:6.2f} ms/node", flush=True)
    finally:
        worker.terminate()
        worker.wait(30)
    return out


def main(only: list[str], baseline: Path | None = None) -> None:
    redis_proc, redis_url = start_redis()
    REDIS.append(redis_proc.pid)
    pg_url, drop = create_pg_database()
    setups = {
        "redis + postgresql": {"db_url": pg_url, "broker_url": redis_url},
        "redis + sqlite": {"broker_url": redis_url},
        "embedded": {},
        "redis + pg, threads": {"db_url": pg_url, "broker_url": redis_url, "NEBHX_WORKER_POOL": "threads"},
    }
    try:
        print(f"worker concurrency {CONCURRENCY} on both sides; best of 5")
        raw = bench_raw(redis_url.rsplit("/", 1)[0] + "/15")
        results = {label: bench_engine(label, env) for label, env in setups.items()
                   if not only or any(o in label for o in only)}
        if baseline is not None:
            before = {f"baseline {label}": bench_engine(f"baseline {label}", env, code=baseline)
                      for label, env in setups.items() if not only or any(o in label for o in only)}
            print("\nratio of this engine's time to the baseline's (same shape):")
            for (label, res), old in zip(results.items(), before.values()):
                print(f"  {label:<22} " + "  ".join(f"{k}: {v / old[k]:5.2f}x" for k, v in res.items()))
            results.update(before)
        print("\nratio of engine time to raw Celery (same shape):")
        for label, res in results.items():
            print(f"  {label:<22} " + "  ".join(f"{k}: {v / raw[k]:5.1f}x" for k, v in res.items() if k in raw))
        print("\nratio of engine CPU (workers, API, its PostgreSQL backends, Redis) to raw Celery's (worker, Redis):")
        for label in results:
            print(f"  {label:<22} " + "  ".join(f"{k}: {v / CPU['raw celery'][k]:5.2f}x" for k, v in CPU[label].items()
                                               if k in CPU["raw celery"]))
    finally:
        drop()
        redis_proc.terminate()


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("only", nargs="*", help='setups to run, e.g. "postgresql"')
    parser.add_argument("--concurrency", default=CONCURRENCY, help="worker processes on both sides")
    parser.add_argument("--baseline", type=Path, help="a checkout of another revision to run beside")
    args = parser.parse_args()
    CONCURRENCY = str(args.concurrency)
    main(args.only, args.baseline)
    sys.stdout.flush()
    # Celery's result objects would try to unsubscribe from the stopped Redis at exit.
    os._exit(0)
