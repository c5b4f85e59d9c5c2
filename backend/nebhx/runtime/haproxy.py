"""HAProxy as the load balancer: a rendered config, hot reloads, the runtime API.

One folder per balancer: ``haproxy.cfg``, ``haproxy.pid`` (the master), ``admin.sock``
(runtime API), ``server-state`` and ``haproxy.log``. HAProxy runs master-worker in its
own session, so it outlives the worker that started it. A reload (USR2 to the master)
happens only when the rendered config changed and ``haproxy -c`` accepted it; the new
worker takes the listening sockets over from the old one (``expose-fd listeners``),
so clients see no refused connection. Server admin states (drain, maint) survive a
reload through the server-state file, dumped just before the USR2.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.haproxy_cfg import NAME_RE, CheckTimings, LBSpec, render, server_name  # noqa: F401
from nebhx.runtime.process import host_env
from nebhx.runtime.supervisor import pid_alive, unix_socket_path

STATES = ("ready", "drain", "maint")
# srv_admin_state bits (HAProxy's SRV_ADMF_*): forced/inherited/config/dns/health maint; drain.
MAINT_BITS, DRAIN_BITS = 0x01 | 0x02 | 0x04 | 0x20 | 0x40, 0x08 | 0x10


def check_name(name: str) -> str:
    """A balancer name is a folder under ``<home>/haproxy``: one plain path component."""
    if not NAME_RE.match(name or ""):
        raise BrickFailed(f"name: invalid balancer name {name!r}: letters, digits, '_', '.' "
                          "and '-', starting with a letter or digit")
    return name


class HAProxy:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.name = self.root.name if NAME_RE.match(self.root.name) else "lb"
        self.cfg = self.root / "haproxy.cfg"
        self.pidfile = self.root / "haproxy.pid"
        self.sock = unix_socket_path(self.root / "admin.sock")
        self.state_file = self.root / "server-state"
        self.logfile = self.root / "haproxy.log"

    @property
    def backend(self) -> str:
        return f"be_{self.name}"

    def exe(self) -> str:
        exe = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
        if not exe:
            raise BrickFailed("haproxy is not installed on this host (apt-get install -y haproxy)")
        return exe

    def master_pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def running(self) -> bool:
        return self.master_pid() is not None

    # -- config -----------------------------------------------------------------------
    def apply(self, bind: str, servers: list[str], mode: str = "http",
              health_path: str | None = None, health_check: bool = True, **options) -> bool:
        """Render, validate, then start or reload; True when the config changed. ``options``
        are the rest of ``LBSpec`` (check timings, agent check, stats listener)."""
        spec = LBSpec(self.name, bind, list(dict.fromkeys(servers)), mode, health_path, health_check,
                      **options)
        text = render(spec, self.sock, self.state_file)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one apply at a time, across workers
            changed = not self.cfg.exists() or self.cfg.read_text() != text
            if changed:
                self._install(text)
            if not self.running():
                self.start()
            elif changed:
                self.reload()
        return changed

    def _install(self, text: str) -> None:
        new = self.cfg.with_suffix(".new")
        new.write_text(text)
        proc = subprocess.run([self.exe(), "-c", "-q", "-f", str(new)], capture_output=True,
                              text=True, timeout=30)
        if proc.returncode != 0:
            new.unlink(missing_ok=True)
            raise BrickFailed(f"haproxy rejected the config: {(proc.stderr or proc.stdout).strip()[-1500:]}")
        new.replace(self.cfg)

    # -- process ----------------------------------------------------------------------
    def start(self, timeout: float = 15) -> None:
        """Start master-worker in its own session; wait until the runtime API answers."""
        if self.running():
            return
        self.sock.unlink(missing_ok=True)
        if not self.state_file.exists():
            self.state_file.write_text("")
        with open(self.logfile, "ab") as log:
            proc = subprocess.Popen(
                [self.exe(), "-W", "-db", "-f", str(self.cfg), "-p", str(self.pidfile)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=host_env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BrickFailed(f"haproxy exited at start (code {proc.returncode}): {self.log_tail()}")
            if self._worker_pid() is not None:
                _reap_when_it_ends(proc)
                return
            time.sleep(0.05)
        _reap_when_it_ends(proc)
        raise BrickFailed(f"haproxy did not answer on {self.sock} within {timeout}s: {self.log_tail()}")

    def reload(self, timeout: float = 15) -> None:
        """Hand over to a new worker with the current config, keeping server states."""
        master = self.master_pid()
        if master is None:
            return self.start()
        old_worker = self._worker_pid()
        self.state_file.write_text(self.command("show servers state"))
        os.kill(master, signal.SIGUSR2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self._worker_pid()
            if pid is not None and pid != old_worker:
                return
            time.sleep(0.05)
        raise BrickFailed(f"haproxy reload did not bring up a new worker: {self.log_tail()}")

    def stop(self, timeout: float = 10) -> None:
        """Soft stop (USR1: finish open connections), then TERM, then KILL."""
        master = self.master_pid()
        for sig in (signal.SIGUSR1, signal.SIGTERM, signal.SIGKILL):
            if not pid_alive(master):
                break
            os.kill(master, sig)
            deadline = time.monotonic() + timeout
            while pid_alive(master) and time.monotonic() < deadline:
                _reap(master)
                time.sleep(0.05)
        self.pidfile.unlink(missing_ok=True)
        self.sock.unlink(missing_ok=True)

    def log_tail(self, length: int = 1500) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-length:].strip()
        except OSError:
            return ""

    # -- runtime API ------------------------------------------------------------------
    def command(self, line: str, timeout: float = 5) -> str:
        """One runtime-API command over the admin socket; the reply as text."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(self.sock))
            s.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def _worker_pid(self) -> int | None:
        try:
            info = self.command("show info", timeout=1)
        except OSError:
            return None
        m = re.search(r"^Pid: (\d+)$", info, re.M)
        return int(m.group(1)) if m else None

    def set_server_state(self, backend: str, server: str, state: str) -> None:
        if state not in STATES:
            raise BrickFailed(f"state must be one of {', '.join(STATES)}, not {state!r}")
        reply = self.command(f"set server {backend}/{server} state {state}").strip()
        if reply:  # HAProxy answers an empty line on success, a message on error
            raise BrickFailed(f"haproxy refused 'set server {backend}/{server} state {state}': {reply}")

    def server(self, address: str) -> dict:
        """The ``servers_state`` row of the backend at ``address`` (host:port)."""
        rows = self.servers_state()
        for row in rows:
            if row["server"] == server_name(address):
                return row
        shown = ", ".join(r["address"] for r in rows) or "none"
        raise BrickFailed(f"backend {address} is not in load balancer {self.name} (servers: {shown})")

    def drain(self, address: str, timeout_s: float, interval_s: float = 0.05) -> int:
        """No new requests to ``address``; wait up to ``timeout_s`` until its open sessions
        end. Returns the sessions still open (0 when it went idle in time)."""
        row = self.server(address)
        if row["admin"] != "drain":
            self.set_server_state(row["backend"], row["server"], "drain")
        deadline = time.monotonic() + timeout_s
        while row["sessions"] and time.monotonic() < deadline:
            time.sleep(interval_s)
            row = self.server(address)
        return row["sessions"]

    def enable(self, address: str, timeout_s: float = 10, interval_s: float = 0.05) -> dict:
        """Put ``address`` back in rotation and wait until HAProxy's health check has it up,
        so that draining the next backend never leaves the balancer without one."""
        row = self.server(address)
        if row["admin"] != "ready":
            self.set_server_state(row["backend"], row["server"], "ready")
        deadline = time.monotonic() + timeout_s
        while row["operational"] != "up" or row["admin"] != "ready":
            if time.monotonic() > deadline:
                raise BrickFailed(f"backend {address} of {self.name} is {row['admin']}/"
                                  f"{row['operational']} {timeout_s}s after enabling it")
            time.sleep(interval_s)
            row = self.server(address)
        return row

    def servers_state(self) -> list[dict]:
        """``show servers state`` parsed: one dict per server (backend, server, address,
        admin: ready|drain|maint, operational: up|down|..., sessions)."""
        text = self.command("show servers state")
        rows = [r for r in (line.split() for line in text.splitlines()) if len(r) > 18 and r[0].isdigit()]
        sessions = self._sessions()
        out = []
        for r in rows:
            # columns: be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ... srv_port(18)
            admin, op = int(r[6]), int(r[5])
            out.append({
                "backend": r[1], "server": r[3], "address": f"{r[4]}:{r[18]}",
                "admin": "maint" if admin & MAINT_BITS else "drain" if admin & DRAIN_BITS else "ready",
                "operational": {0: "down", 1: "starting", 2: "up", 3: "stopping"}.get(op, str(op)),
                "sessions": sessions.get((r[1], r[3]), 0),
            })
        return out

    def _sessions(self) -> dict[tuple[str, str], int]:
        """Current sessions per server, from ``show stat`` (CSV: pxname, svname, ..., scur)."""
        out = {}
        for line in self.command("show stat").splitlines():
            cols = line.split(",")
            if len(cols) > 4 and not line.startswith("#") and cols[4].isdigit():
                out[(cols[0], cols[1])] = int(cols[4])
        return out


def _reap_when_it_ends(proc: subprocess.Popen) -> None:
    """HAProxy is this process's child: whoever stops it (``nebhx down``, another worker),
    collect its exit status at once, so it does not linger as a zombie until we exit."""
    threading.Thread(target=proc.wait, name=f"reap haproxy {proc.pid}", daemon=True).start()


def _reap(pid: int | None) -> None:
    """Collect our own exited child so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, TypeError, OSError):
        pass
