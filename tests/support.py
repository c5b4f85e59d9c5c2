"""Real services for tests: private Redis, a fresh PostgreSQL database, API + worker processes."""
from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from support_store import (  # noqa: F401 - tests import them from here
    create_pg_database,
    fresh_sqlite_store,
    migrated_template,
    pg_admin_url,
)

ROOT = Path(__file__).resolve().parents[1]
TEST_BLOCKS = ROOT / "tests" / "testbricks"
FAST = {"NEBHX_HEARTBEAT_S": "0.5", "NEBHX_LEASE_S": "3", "NEBHX_SWEEP_INTERVAL_S": "0.5",
        "NEBHX_RETRY_BASE_S": "0.5", "NEBHX_WORKER_CONCURRENCY": "4"}


def free_port() -> int:
    """A port nothing uses on any IPv4 address, below the kernel's ephemeral range. Bound on
    0.0.0.0, as service.run's port_in_use checks it. Not an ephemeral one (what bind(0)
    gives): any process's next outgoing connection may take that between this check and the
    test's use of it, and service.run then refuses it as 'already in use' (seen with lanes
    side by side)."""
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(10000, low)
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between 10000 and {low}")


def _ephemeral_low() -> int:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return max(low, 12000)


def wait_for(check, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not met within {timeout}s (last: {last!r})")


class Inbox:
    """An aiosmtpd handler that keeps every envelope it receives (a real SMTP server's inbox)."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        self.messages.append(envelope)
        return "250 OK"


def require(command: str, package: str) -> str:
    """The path of ``command``; fail loudly naming the Debian package when it is missing.

    Tests never install anything: ``./dev test`` installs every line of deps/apt.txt first."""
    exe = shutil.which(command) or next((p for p in (f"/usr/sbin/{command}", f"/sbin/{command}")
                                         if os.access(p, os.X_OK)), None)
    if exe is None:
        import pytest
        pytest.fail(f"{command} is not installed: `apt-get install -y {package}` (deps/apt.txt; "
                    "the README's test command installs it)", pytrace=False)
    return exe


def start_redis() -> tuple[subprocess.Popen, str]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server is not installed: run `apt-get install -y redis-server` "
                           "(the README's test command does)")
    port = free_port()
    proc = subprocess.Popen([exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=0.2), 10, what="redis")
    return proc, f"redis://127.0.0.1:{port}/0"


_palette: tuple[tuple, object] | None = None  # (what it was read from, the registry loaded)


def fresh_palette():
    """The palette of the current settings, as ``get_registry(reload=True)`` loads it; read
    again only when what it is read from changed (the block folders, the brick packages
    installed under this home) or something else reloaded it since. Re-importing every brick
    module cost about a second of CPU per test, for the same bricks each time."""
    global _palette
    from nebhx.bricks import packages, registry
    from nebhx.settings import get_settings
    packages.run_sync_hook()  # as a reload would: a store's packages land before the key is read
    key = (tuple(p.resolve() for p in get_settings().block_dirs()), tuple(packages.folders()),
           tuple(packages.problems))
    if _palette is None or _palette[0] != key or registry._registry is not _palette[1]:
        _palette = (key, registry.get_registry(reload=True, sync=False))
    return _palette[1]


@dataclass
class Stack:
    """An API (with the sweep) and workers as real processes over one store and broker."""

    home: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url + "/api", timeout=30)

    def spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.home / f"{name}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "nebhx.cli.main", *args], env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start(self, worker: bool = True) -> Stack:
        self.spawn("api", "api", "--port", str(self.port))
        if worker:
            self.start_worker()
        wait_for(lambda: httpx.get(self.url + "/api/health").status_code == 200, 30, what="API up")
        return self

    def start_worker(self, name: str = "worker") -> subprocess.Popen:
        return self.spawn(name, "worker", "--queues", "nebhx", "--host", "local")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(timeout=20)

    def stop(self) -> None:
        for name in list(self.procs):
            proc = self.procs[name]
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.kill(name)
            self.procs.pop(name, None)
        stop_daemons(self.home)

    def run(self, doc: dict, inputs: dict | None = None, *, wait: bool = True, timeout: float = 60) -> dict:
        with self.client() as c:
            resp = c.post("/runs", json={"graph": doc, "inputs": inputs or {}})
            assert resp.status_code == 201, resp.text
            run = resp.json()
        return self.wait_run(run["id"], timeout) if wait else run

    def get_run(self, run_id: str) -> dict:
        with self.client() as c:
            return c.get(f"/runs/{run_id}").json()

    def wait_run(self, run_id: str, timeout: float = 60) -> dict:
        return wait_for(lambda: (r := self.get_run(run_id))["finished_at"] and r, timeout,
                        what=f"run {run_id} finished")

    def wait_node(self, run_id: str, node: str, status: str, timeout: float = 30) -> dict:
        return wait_for(lambda: (r := self.get_run(run_id))["nodes"][node]["status"] == status and r,
                        timeout, what=f"node {node} {status}")


STACK_KINDS = ["embedded", "redis+pg"]


def stack_fixture(scope: str):
    """The `stack` fixture at ``scope``: API + worker processes, SQLite with the filesystem
    broker ("embedded") or PostgreSQL with Redis ("redis+pg")."""
    import pytest

    @pytest.fixture(params=STACK_KINDS, scope=scope, name="stack")
    def stack(request, tmp_path_factory):
        home = tmp_path_factory.mktemp(f"stack-{request.param.replace('+', '-')}")
        cleanups = []
        if request.param == "embedded":
            fresh_sqlite_store(home / "nebhx.db")  # the default store under NEBHX_HOME, migrated
            env = make_env(home)
        else:
            redis_proc, broker = start_redis()
            db, drop = create_pg_database()
            env = make_env(home, db, broker)
            cleanups = [drop, lambda: (redis_proc.terminate(), redis_proc.wait(10))]
        s = Stack(home, env).start()
        s.kind = request.param
        yield s
        s.stop()
        for cleanup in cleanups:
            cleanup()
    return stack


def stop_daemons(home: Path) -> None:
    """Stop the supervisord and HAProxy daemons that host bricks started under ``home``."""
    from nebhx.runtime.haproxy import HAProxy
    from nebhx.runtime.supervisor import Supervisor
    for sv in home.glob("hosts/*/supervisor"):
        Supervisor(sv).shutdown()
    for lb in home.glob("hosts/*/haproxy/*"):
        HAProxy(lb).stop()


def make_env(home: Path, db_url: str | None = None, broker_url: str | None = None, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}
    # Each stack keeps its key file in its own config folder, not the real user's ~/.config.
    env.update(FAST, NEBHX_HOME=str(home), NEBHX_BLOCKS_PATH=str(TEST_BLOCKS),
               XDG_CONFIG_HOME=str(home / "config"))
    env.update(extra)
    if db_url:
        env["NEBHX_DATABASE_URL"] = db_url
    if broker_url:
        env["NEBHX_BROKER_URL"] = broker_url
    return env


def graph(name: str, nodes: list[dict], edges: list[dict] | None = None, **extra) -> dict:
    """A graph document; a node given as (id, brick, params) keeps tests short."""
    return {"format": "nebhx/graph@1", "name": name, "nodes": [
        n if isinstance(n, dict) else {"id": n[0], "brick": n[1], "params": n[2] if len(n) > 2 else {},
                                       **(n[3] if len(n) > 3 else {})} for n in nodes],
            "edges": edges or [], **extra}


def wire(src: str, out: str, dst: str, inp: str) -> dict:
    return {"from": {"node": src, "port": out}, "to": {"node": dst, "port": inp}}


def order(src: str, dst: str) -> dict:
    return {"from": {"node": src}, "to": {"node": dst}}
