"""The instance's backend in a balancer, as a switch and a rollback drain and enable it.

- ``Balancer``: none (nothing to drain).
- ``LocalBalancer``: HAProxy on this host, through its admin socket (runtime API).
- ``RemoteBalancer``: HAProxy on any host, e.g. one central balancer. This host's
  agent-check responder (``lbagent``) tells it ``drain`` or ``ready`` for this backend;
  the balancer's read-only stats listener says when it took effect, how many sessions
  are still open, and whether another server serves.

Both refuse to drain the last serving backend (``keep_one``): before draining, and again
once drained (two hosts draining at once), when no other server of the backend is up and
in rotation the drain is undone and the step fails, before anything else changed.
"""
from __future__ import annotations

import csv
import http.client
import io
import socket
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime import lbagent
from nebhx.runtime.haproxy_cfg import server_name

if TYPE_CHECKING:
    from nebhx.bricks.base import Context
    from nebhx.runtime import HostRuntime
    from nebhx.runtime.haproxy import HAProxy
    from nebhx.runtime.rollout import Steps


def wait(cond: Callable[[], object], timeout: float, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while not (got := cond()):
        if time.monotonic() > deadline:
            return got
        time.sleep(interval)
    return got


@dataclass
class Balancer:
    """No balancer: drain and enable do nothing."""
    backend: str | None = None
    drain_timeout_s: float = 30
    keep_one: bool = True

    @property
    def active(self) -> bool:
        return False

    def drain(self, steps: Steps, ctx: Context) -> None:
        if not self.active:
            return
        with steps("drain"):
            self._drain_one(ctx)

    def enable(self, steps: Steps) -> None:
        if self.active:
            with steps("enable"):
                self._enable_one()

    def hold(self) -> None:
        """Out of rotation and not health-checked (maint): a blue-green slot that is empty,
        starting, or a standby. Leaving maint, HAProxy takes it as up at once."""
        if self.active:
            self._set("maint")

    def at(self, port: int) -> Balancer:
        """The same balancer for this host's backend on ``port`` (the other blue-green slot)."""
        return replace(self, backend=f"{(self.backend or '').rpartition(':')[0]}:{port}")

    def known(self) -> None:
        """Fails naming the balancer's servers when this backend is not one of them."""
        if self.active:
            self._mine()

    def _drain_one(self, ctx: Context) -> None:
        self._others_serve("before draining")
        self._set("drain")
        try:
            self._others_serve("once drained")
        except BrickFailed:
            self._set("ready")  # two drains at once: this one gives way
            raise
        left = self._sessions_left()
        if left:
            ctx.log("%s still has %d session(s) after %ss; going on", self.backend, left,
                    self.drain_timeout_s)

    def _others_serve(self, when: str) -> None:
        if not self.keep_one:
            return
        rows, mine = self.rows(), server_name(self.backend)
        backends = {r["backend"] for r in rows if r["server"] == mine}
        others = [r for r in rows if r["backend"] in backends and r["server"] != mine]
        if not any(r["serving"] for r in others):
            shown = ", ".join(f"{r['address'] or r['server']} {r['state']}" for r in others) or "none"
            raise BrickFailed(f"backend {self.backend} is the last one serving in {self.where} "
                              f"({when}; the others: {shown}): draining it would stop the service "
                              "(keep_one_serving false allows it)")

    def rows(self) -> list[dict]:
        raise NotImplementedError

    def _mine(self) -> list[dict]:
        raise NotImplementedError

    def _set(self, state: str) -> None:
        raise NotImplementedError

    def _sessions_left(self) -> int:
        raise NotImplementedError

    def _enable_one(self) -> None:
        raise NotImplementedError


@dataclass
class LocalBalancer(Balancer):
    lb: HAProxy | None = None

    @property
    def active(self) -> bool:
        return True

    @property
    def where(self) -> str:
        return f"load balancer {self.lb.name}"

    def rows(self) -> list[dict]:
        return [{**r, "serving": r["admin"] == "ready" and r["operational"] == "up",
                 "state": f"{r['admin']}/{r['operational']}"} for r in self.lb.servers_state()]

    def _mine(self) -> list[dict]:
        return [self.lb.server(self.backend)]

    def _set(self, state: str) -> None:
        row = self.lb.server(self.backend)
        if row["admin"] != state:
            self.lb.set_server_state(row["backend"], row["server"], state)

    def _sessions_left(self) -> int:
        return self.lb.drain(self.backend, self.drain_timeout_s)

    def _enable_one(self) -> None:
        self.lb.enable(self.backend, interval_s=0.005)


class AgentState:
    """This host's agent-check responder and the words it answers, one file per server."""

    def __init__(self, runtime: HostRuntime, port: int):
        self.rt, self.port = runtime, port
        self.folder = runtime.home / "lbagent" / str(port)
        self.program = f"nebhx-lbagent-{port}"

    def ensure_running(self) -> None:
        if self.folder.is_dir() and self._answers():
            return  # an instant rollback must not wait on supervisord for what already runs
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)  # the responder may run as another user: it only reads
        sv = self.rt.supervisor
        sv.ensure_program(self.program, f"{sys.executable} -I {Path(lbagent.__file__).resolve()} "
                          f"--port {self.port} --dir {self.folder}", start_secs=0)
        status = sv.status(self.program)
        if not (status and status.up):
            sv.start(self.program)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"\n")
                return conn.recv(16).endswith(b"\n")
        except OSError:
            return False

    def set(self, server: str, word: str | None) -> None:
        path = self.folder / server
        if word is None:
            path.unlink(missing_ok=True)
            return
        tmp = path.with_name(f".{server}.tmp")
        tmp.write_text(word + "\n")
        tmp.chmod(0o644)
        tmp.replace(path)


@dataclass
class RemoteBalancer(Balancer):
    stats: str | None = None  # the balancer's stats listener, host:port
    agent: AgentState | None = None
    took_s: float = 10  # how long the balancer may take to act on the agent's word

    @property
    def active(self) -> bool:
        return True

    @property
    def where(self) -> str:
        return f"the balancer at {self.stats}"

    def rows(self) -> list[dict]:
        # The standard library's client: an instant rollback polls this every few ms, and an
        # httpx client costs ~0.1 s to make (its TLS context) even for plain HTTP.
        host, _, port = self.stats.rpartition(":")
        conn = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=3)
        try:
            conn.request("GET", "/;csv;norefresh")
            resp = conn.getresponse()
            status, text = resp.status, resp.read().decode(errors="replace")
        except (OSError, http.client.HTTPException) as exc:
            raise BrickFailed(f"the balancer's stats at {self.stats} do not answer: {exc}") from exc
        finally:
            conn.close()
        if status != 200:
            raise BrickFailed(f"the balancer's stats at {self.stats} answered {status} "
                              "(is this host in its stats_allow?)")
        out = []
        for r in csv.DictReader(io.StringIO(text.lstrip("# "))):
            if r.get("svname") in ("FRONTEND", "BACKEND") or not r.get("svname"):
                continue
            status = r.get("status") or ""
            out.append({"backend": r["pxname"], "server": r["svname"], "address": r.get("addr") or "",
                        "state": status, "sessions": int(r.get("scur") or 0),
                        "serving": _serving(status)})
        return out

    def _mine(self) -> list[dict]:
        rows = self.rows()
        mine = [r for r in rows if r["server"] == server_name(self.backend)]
        if not mine:
            shown = ", ".join(sorted({r["address"] or r["server"] for r in rows})) or "none"
            raise BrickFailed(f"backend {self.backend} is not in the balancer at {self.stats} "
                              f"(servers: {shown})")
        return mine

    def _set(self, state: str) -> None:
        self.agent.ensure_running()
        self.agent.set(server_name(self.backend), state)
        # Drained: it gets no new request (DRAIN, or DOWN/MAINT: a stopped app is down too).
        want = {"drain": lambda s: not _serving(s), "maint": lambda s: s.startswith("MAINT")}.get(
            state, lambda s: not s.startswith(("DRAIN", "MAINT")))
        if not wait(lambda: all(want(r["state"]) for r in self._mine()), self.took_s):
            raise BrickFailed(f"the balancer at {self.stats} did not take '{state}' for {self.backend} "
                              f"from this host's agent check within {self.took_s}s (is agent_port "
                              f"{self.agent.port} set in its lb.haproxy?)")

    def _sessions_left(self) -> int:
        wait(lambda: not any(r["sessions"] for r in self._mine()), self.drain_timeout_s)
        return sum(r["sessions"] for r in self._mine())

    def _enable_one(self, timeout_s: float = 10) -> None:
        # One wait, for the balancer to serve it (an instant rollback ends here, every ms counts).
        self.agent.ensure_running()
        self.agent.set(server_name(self.backend), "ready")
        if not wait(lambda: all(_serving(r["state"]) for r in self._mine()), timeout_s):
            states = [r["state"] for r in self._mine()]
            unheard = any(s.startswith(("DRAIN", "MAINT")) for s in states)
            raise BrickFailed(f"backend {self.backend} is {', '.join(states)} in the balancer at "
                              f"{self.stats} {timeout_s}s after enabling it" + (
                                  f" (is agent_port {self.agent.port} set in its lb.haproxy?)" if unheard else ""))
        self.agent.set(server_name(self.backend), None)  # back to 'up': an operator's drain holds again


def _serving(status: str) -> bool:
    """A stats row's status that takes new requests: UP (or going down), or up without checks."""
    return status.startswith("UP") or status == "no check"
