"""Several hosts on one machine: a bridge, one network namespace per host, and a Nebh-X
cluster over it (private Redis on the bridge, SQLite store on the shared filesystem, API
and control worker in the root namespace, one agent per namespace).

Used by the cluster tests (tests/cluster) and the benchmarks (bench/deploy.py,
bench/stage_parallel.py). Needs root and `ip netns`. Every name carries a random tag and
the subnet a random third octet (10.231.X.0/24), so parallel runs do not clash.
``Cluster.down`` removes everything it made, even after a half-finished ``up``.
"""
from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from support import wait_for  # noqa: E402
EXAMPLE = ROOT / "examples" / "web-service.json"
TIMINGS = {"NEBHX_HEARTBEAT_S": "1", "NEBHX_LEASE_S": "15", "NEBHX_SWEEP_INTERVAL_S": "1",
           "NEBHX_RETRY_BASE_S": "0.5",
           # Agents keep the default 5 s heartbeat: a beat that holds a SQLite transaction
           # while Celery forks its pool at start leaves a child that finds the store
           # locked for good (an engine issue); a 1 s beat hits that fork. The services
           # view is taken on every beat, so a restarted app shows within seconds.
           "NEBHX_AGENT_HEARTBEAT_S": "5", "NEBHX_SERVICES_CHECK_S": "1"}


class NetnsUnavailable(RuntimeError):
    """`ip netns` cannot be used here; the message says why."""


def sh(*args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def _used_subnets() -> set[int]:
    out = sh("ip", "-4", "-o", "addr", "show", check=False).stdout
    return {int(p.split(".")[2]) for p in out.split() if p.startswith("10.231.")}


@dataclass
class Cluster:
    """``hosts`` as agents in namespaces; the API, the sweep, a control worker and Redis
    in the root namespace, bound to the bridge address."""

    workdir: Path
    hosts: tuple[str, ...] = ("h1", "h2", "h3")
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # host -> its agent's labels
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    octet: int = 0
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    made_bridge: bool = False
    made_ns: list[str] = field(default_factory=list)
    made_links: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        if not self.octet:
            used = _used_subnets()
            self.octet = random.choice([o for o in range(2, 250) if o not in used])
        self.bridge = f"nbxt{self.tag}"  # at most 15 characters, like every link name
        self.gateway = f"10.231.{self.octet}.1"

    # -- names ----------------------------------------------------------------------------
    def ns(self, host: str) -> str:
        return f"nbx{self.tag}-{host}"

    def address(self, host: str) -> str:
        return f"10.231.{self.octet}.{11 + self.hosts.index(host)}"

    def veth(self, host: str) -> str:
        return f"nbv{self.tag}{self.hosts.index(host)}"

    # -- network ----------------------------------------------------------------------------
    @staticmethod
    def check_netns() -> None:
        """Fail with the reason when namespaces cannot be made (not root, no `ip`...)."""
        if os.geteuid() != 0:
            raise NetnsUnavailable("the cluster needs root to create network namespaces")
        if shutil.which("ip") is None:
            raise NetnsUnavailable("`ip` (iproute2) is not installed: apt-get install -y iproute2")
        probe = f"nbxprobe{secrets.token_hex(3)}"
        made = sh("ip", "netns", "add", probe, check=False)
        if made.returncode != 0:
            raise NetnsUnavailable(f"`ip netns add` does not work here: {made.stderr.strip()}")
        try:
            run = sh("ip", "netns", "exec", probe, "ip", "link", "set", "lo", "up", check=False)
            if run.returncode != 0:
                raise NetnsUnavailable(f"`ip netns exec` does not work here: {run.stderr.strip()}")
        finally:
            sh("ip", "netns", "del", probe, check=False)

    def net_up(self) -> None:
        self.check_netns()
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        self.made_bridge = True
        sh("ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for host in self.hosts:
            ns, veth = self.ns(host), self.veth(host)
            sh("ip", "netns", "add", ns)
            self.made_ns.append(ns)
            sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            self.made_links.append(veth)
            sh("ip", "link", "set", veth, "master", self.bridge, "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def free_port(self) -> int:
        with socket.socket() as s:
            s.bind((self.gateway, 0))
            return s.getsockname()[1]

    # -- processes ------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}
        env.update(TIMINGS, NEBHX_HOME=str(self.workdir / "home"),
                   NEBHX_DATABASE_URL=f"sqlite:///{self.workdir / 'store.db'}",
                   NEBHX_BROKER_URL=self.broker_url, NEBHX_SECRET_KEY=self.secret_key,
                   NEBHX_URL=self.api_url, NEBHX_LOG_LEVEL="INFO", **extra)
        return env

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None,
              ns: str | None = None) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        prefix = ["ip", "netns", "exec", ns] if ns else []
        proc = subprocess.Popen([*prefix, *argv], env=env, cwd=str(ROOT), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs[name] = proc
        return proc

    def nebhx(self, name: str, *args: str, ns: str | None = None, **env: str) -> subprocess.Popen:
        return self.spawn(name, [sys.executable, "-m", "nebhx.cli.main", *args], self.env(**env), ns)

    def agent_env(self, host: str, **extra: str) -> dict[str, str]:
        """What a managed host holds: the API's URL and its own token; no store, no key, no broker."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}
        env.update(TIMINGS, NEBHX_HOME=str(self.workdir / "agents" / host), NEBHX_LOG_LEVEL="INFO",
                   NEBHX_AGENT_TOKEN=self.host_tokens[host], XDG_CONFIG_HOME=str(self.workdir / "agents" / host),
                   **extra)
        return env

    def start_agent(self, host: str, concurrency: int = 3) -> subprocess.Popen:
        home = self.workdir / "hosts" / host
        home.mkdir(parents=True, exist_ok=True)
        env = self.agent_env(host, NEBHX_HOST_HOME=str(home), NEBHX_AGENT_ADDRESS=self.address(host),
                             NEBHX_WORKER_CONCURRENCY=str(concurrency))
        labels = [a for k, v in self.labels.get(host, {}).items() for a in ("--label", f"{k}={v}")]
        return self.spawn(f"agent-{host}", [sys.executable, "-m", "nebhx.cli.main", "agent", "--host", host,
                                            "--server", self.api_url, *labels], env, self.ns(host))

    def _issue_credentials(self) -> None:
        """An admin (the API is bound to the bridge, so it requires sign-in) and hosts' tokens."""
        from nebhx.auth.service import create_user
        from nebhx.auth.tokens import issue
        from nebhx.store.db import session_scope
        with session_scope(self.env()["NEBHX_DATABASE_URL"]) as s:
            create_user(s, name="admin", password=secrets.token_hex(12), role="admin")
            self.admin_token = issue(s, kind="api", owner="admin", name="cluster tests")[1]
            # Gates refuse approval by the run's starter (starter_may_approve off): a second person.
            create_user(s, name="approver", password=secrets.token_hex(12), role="operator")
            self.approver_token = issue(s, kind="api", owner="approver", name="cluster approvals")[1]
            self.host_tokens = {h: issue(s, kind="host", owner=h)[1] for h in self.hosts}

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def up(self, agent_concurrency: int = 3) -> Cluster:
        """Network, Redis, API (with the sweep), control worker and one agent per host;
        returns when every host is up in GET /api/hosts."""
        from cryptography.fernet import Fernet
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.secret_key = Fernet.generate_key().decode()
        self.net_up()
        redis_port, api_port = self.free_port(), self.free_port()
        redis_password = secrets.token_hex(16)
        self.broker_url = f"redis://:{redis_password}@{self.gateway}:{redis_port}/0"
        self.api_url = f"http://{self.gateway}:{api_port}"
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed: apt-get install -y redis-server")
        self.spawn("redis", [exe, "--bind", self.gateway, "--port", str(redis_port), "--save", "",
                             "--appendonly", "no", "--requirepass", redis_password])
        wait_for(lambda: socket.create_connection((self.gateway, redis_port), timeout=0.3), 15,
                 what="redis on the bridge")
        self._issue_credentials()
        self.nebhx("api", "api", "--host", self.gateway, "--port", str(api_port))
        wait_for(lambda: httpx.get(self.api_url + "/api/health", timeout=2).status_code == 200, 60,
                 what="API up")
        self.nebhx("worker", "worker", "--queues", "nebhx", NEBHX_WORKER_CONCURRENCY="2")
        for host in self.hosts:
            self.start_agent(host, agent_concurrency)
        self.wait_hosts()
        return self

    def host_rows(self) -> dict[str, dict]:
        rows = httpx.get(self.api_url + "/api/hosts", timeout=5, headers=self.auth).json()
        return {r["name"]: r for r in rows}

    def wait_hosts(self, timeout: float = 90) -> dict[str, dict]:
        def ready():
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}: {self.log_tail(name)}")
            rows = self.host_rows()
            return rows if all(rows.get(h, {}).get("state") == "up" for h in self.hosts) else None

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                rows = ready()
            except RuntimeError:
                raise
            except Exception:  # API not answering yet
                rows = None
            if rows:
                return rows
            time.sleep(0.3)
        raise TimeoutError(f"hosts not up within {timeout}s: {self.host_rows()}")

    def log_tail(self, name: str, n: int = 3000) -> str:
        try:
            return (self.workdir / f"{name}.log").read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def netns_pids(self, host: str) -> list[int]:
        out = sh("ip", "netns", "pids", self.ns(host), check=False).stdout
        return [int(p) for p in out.split() if p.isdigit()]

    def in_ns(self, host: str, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", self.ns(host), *cmd, check=False, timeout=timeout)

    # -- runs -------------------------------------------------------------------------------
    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api_url + "/api", timeout=30, trust_env=False, headers=self.auth)

    def approve(self, run_id: str, comment: str = "", node: str = "approve") -> int:
        """Approve a gate as the user `approver`, not the admin who started the run; the status code."""
        with httpx.Client(base_url=self.api_url + "/api", timeout=30, trust_env=False,
                          headers={"Authorization": f"Bearer {self.approver_token}"}) as c:
            return c.post(f"/runs/{run_id}/nodes/{node}/approve", json={"comment": comment}).status_code

    def run(self, doc: dict, inputs: dict | None = None, timeout: float = 180) -> dict:
        with self.client() as c:
            resp = c.post("/runs", json={"graph": doc, "inputs": inputs or {}})
            if resp.status_code != 201:
                raise RuntimeError(f"POST /runs: {resp.status_code} {resp.text}")
            run_id = resp.json()["id"]
            return wait_for(lambda: (r := c.get(f"/runs/{run_id}").json())["finished_at"] and r,
                            timeout, 0.1, what=f"run {run_id} finished")

    def example_inputs(self, smtp_port: int, **extra) -> dict:
        return {"host_a": self.hosts[0], "host_b": self.hosts[1], "host_c": self.hosts[2],
                "app_source": str(ROOT / "examples" / "app"), "smtp_host": self.gateway,
                "smtp_port": smtp_port, **extra}

    @staticmethod
    def example() -> dict:
        return json.loads(EXAMPLE.read_text())

    # -- teardown ---------------------------------------------------------------------------
    def down(self) -> list[str]:
        """Stop every process (ours, and whatever runs in the namespaces: supervisord,
        apps, HAProxy), then delete veths, namespaces and the bridge. Returns problems."""
        problems: list[str] = []
        for name in [n for n in self.procs if n.startswith("agent-")] + list(self.procs):
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired) as exc:
                    problems.append(f"{name}: {exc}")
        for ns in self.made_ns:
            for _ in range(50):
                out = sh("ip", "netns", "pids", ns, check=False).stdout.split()
                if not out:
                    break
                for pid in out:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, ValueError):
                        pass
                time.sleep(0.1)
            else:
                problems.append(f"processes left in {ns}")
        for link in self.made_links:
            r = sh("ip", "link", "del", link, check=False)
            if r.returncode != 0 and "Cannot find" not in r.stderr:
                problems.append(f"ip link del {link}: {r.stderr.strip()}")
        for ns in self.made_ns:
            r = sh("ip", "netns", "del", ns, check=False)
            if r.returncode != 0:
                problems.append(f"ip netns del {ns}: {r.stderr.strip()}")
        if self.made_bridge:
            r = sh("ip", "link", "del", self.bridge, check=False)
            if r.returncode != 0:
                problems.append(f"ip link del {self.bridge}: {r.stderr.strip()}")
        self.made_links, self.made_ns, self.made_bridge = [], [], False
        return problems
