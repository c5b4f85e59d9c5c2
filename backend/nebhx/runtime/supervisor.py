"""The launcher: one supervisord per host home, keeping each service's process alive.

supervisord is started on demand, daemonises itself (so it outlives the worker that
started it) and reads one ``programs/<name>.conf`` per program through ``[include]``.
Adding or changing a program is ``reloadConfig`` + add/remove over XML-RPC on a unix
socket in the home: the same thing ``supervisorctl reread && update`` does.

Program files hold the environment, which may carry secrets: they are written mode 600
inside a 700 folder, and nothing here logs an environment value.

supervisord starts with a minimal environment (never the agent's: its token, the broker's
password) and runs each program through ``launch.py``, which gives it exactly its declared
environment and, for a user other than the launcher's, its own mount namespace.
"""
from __future__ import annotations

import fcntl
import http.client
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import xmlrpc.client
from contextlib import contextmanager
from pathlib import Path

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.process import (ENV_KEY_RE, NAME_RE, UP_STATES, ProcessManager, ProgramSpec,  # noqa: F401
                                   ProgramStatus, pid_alive, unix_socket_path)

class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str, timeout: float):
        super().__init__()
        self._path, self._timeout = path, timeout

    def make_connection(self, host):  # noqa: ANN001 - xmlrpc's signature
        return _UnixConnection(self._path, self._timeout)


def _quote_env(value: str) -> str:
    # supervisord parses environment= with a non-POSIX shlex: quotes delimit, no escapes,
    # and it strips every quote at either end of a value.
    if '"' in value and "'" in value or value[:1] in "'\"" and value or value[-1:] in "'\"" and value:
        raise BrickFailed("env: a value may not hold both quote kinds, nor start or end with a quote")
    quote = "'" if '"' in value else '"'
    return f"{quote}{value}{quote}"


_BREAKS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[ \t][;#]")


def _refuse_breakout(field: str, value: str) -> str:
    """A value must stay on its line of the section: no newline or other control character,
    and no ' ;' or ' #', which supervisord's config parser takes as a comment."""
    if _BREAKS.search(value):
        raise BrickFailed(f"{field}: {value[:60]!r} could break out of its program section "
                          "(a control character, or ' ;' / ' #' that start a comment there)")
    return value


LAUNCH = Path(__file__).with_name("launch.py")
DAEMON_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def launch_line(spec: ProgramSpec) -> str:
    """``python -I -S launch.py OPTIONS --``: what runs before the program's own command."""
    args = [sys.executable, "-I", "-S", str(LAUNCH)]
    if spec.user:
        args += ["--user", spec.user]
    if spec.env:
        args += ["--keep", ",".join(sorted(spec.env))]
    for flag, paths in (("--ro", spec.read), ("--rw", spec.write), ("--hide", spec.hide)):
        for path in paths:
            args += [flag, str(path)]
    if spec.write:
        args += ["--home", str(spec.write[0])]
    if spec.cwd:
        args += ["--cwd", str(spec.cwd)]
    return " ".join(shlex.quote(a) for a in args) + " --"


def render_program(spec: ProgramSpec, logs: Path) -> str:
    """The ``[program:x]`` section; ``%`` is doubled because supervisord expands it. Every
    value is checked to stay in its place (``_refuse_breakout``)."""
    if not NAME_RE.match(spec.name):
        raise BrickFailed(f"name: bad program name {spec.name!r}: letters, digits, '_', '.', '-' only")
    for key, value in spec.env.items():
        if not ENV_KEY_RE.match(key):
            raise BrickFailed(f"env: bad environment variable name {key!r}")
        _refuse_breakout(f"env {key}", value)
    _refuse_breakout("command", spec.command)
    _refuse_breakout("cwd", spec.cwd or "")
    for path in (*spec.read, *spec.write, *spec.hide, spec.user or ""):
        _refuse_breakout("a path the program sees", str(path))
    esc = lambda s: str(s).replace("%", "%%")  # noqa: E731
    env = ",".join(f"{k}={esc(_quote_env(v))}" for k, v in sorted(spec.env.items()))
    lines = [
        f"[program:{spec.name}]",
        f"command={esc(launch_line(spec))} {esc(spec.command)}",
        f"directory={esc(spec.cwd)}" if spec.cwd else "",
        f"environment={env}" if env else "",
        "autostart=true",
        f"autorestart={'true' if spec.autorestart else 'false'}",
        f"startsecs={int(spec.start_secs)}",
        f"startretries={int(spec.start_retries)}",
        f"stopwaitsecs={int(spec.stop_wait_s)}",
        # A shell wrapper must not leave its children behind on stop.
        "stopasgroup=true", "killasgroup=true",
        f"stdout_logfile={esc(logs / (spec.name + '.out.log'))}",
        f"stderr_logfile={esc(logs / (spec.name + '.err.log'))}",
        "stdout_logfile_maxbytes=5MB", "stdout_logfile_backups=3",
        "stderr_logfile_maxbytes=5MB", "stderr_logfile_backups=3",
    ]
    return "\n".join(line for line in lines if line) + "\n"


class Supervisor(ProcessManager):
    """supervisord for one host home: ``root`` holds its conf, socket, pid and logs."""

    def __init__(self, root: Path, rpc_timeout: float = 30):
        self.root = Path(root)
        self.conf = self.root / "supervisord.conf"
        self.programs = self.root / "programs"
        self.logs = self.root / "logs"
        self.sock = unix_socket_path(self.root / "supervisor.sock")
        self.pidfile = self.root / "supervisord.pid"
        self.rpc_timeout = rpc_timeout

    # -- the daemon -------------------------------------------------------------------
    def _write_main_conf(self) -> None:
        for d in (self.root, self.programs, self.logs):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o700)
        text = (
            f"[unix_http_server]\nfile={self.sock}\nchmod=0700\n\n"
            f"[supervisord]\nlogfile={self.root / 'supervisord.log'}\npidfile={self.pidfile}\n"
            f"childlogdir={self.logs}\ndirectory={self.root}\nlogfile_maxbytes=5MB\n"
            f"identifier=nebhx:{self.root}\n\n"
            "[rpcinterface:supervisor]\n"
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
            f"[supervisorctl]\nserverurl=unix://{self.sock}\n\n"
            f"[include]\nfiles = {self.programs}/*.conf\n"
        ).replace("%", "%%")
        if not self.conf.exists() or self.conf.read_text() != text:
            self.conf.write_text(text)
        self.conf.chmod(0o600)

    def rpc(self):
        return xmlrpc.client.ServerProxy(
            "http://localhost", transport=_UnixTransport(str(self.sock), self.rpc_timeout))

    def ping(self) -> bool:
        try:
            return self.rpc().supervisor.getState()["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Error):
            return False

    def ensure_running(self, timeout: float = 20) -> None:
        """Start supervisord unless it already answers; safe to call from many workers."""
        if self.ping():
            return
        self._write_main_conf()
        with self._locked():  # two workers must not start two daemons
            if self.ping():
                return
            exe = Path(sys.executable).parent / "supervisord"
            # Its environment reaches every program it starts: never the agent's.
            proc = subprocess.run([str(exe), "-c", str(self.conf)], capture_output=True,
                                  text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                                  start_new_session=True, env=DAEMON_ENV)
            if proc.returncode != 0:
                raise BrickFailed(f"supervisord did not start: {(proc.stderr or proc.stdout).strip()}")
            deadline = time.monotonic() + timeout
            while not self.ping():
                if time.monotonic() > deadline:
                    raise BrickFailed(f"supervisord started but its socket {self.sock} does not answer")
                time.sleep(0.1)

    @contextmanager
    def _locked(self):
        """One change at a time per home, across worker processes."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def daemon_pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def shutdown(self, timeout: float = 20) -> None:
        """Stop every program and supervisord itself (tests, host decommission)."""
        pid = self.daemon_pid()
        if self.ping():
            try:
                self.rpc().supervisor.shutdown()
            except (OSError, xmlrpc.client.Error):
                pass
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid):
            os.kill(pid, 9)

    # -- programs ---------------------------------------------------------------------
    def program_file(self, name: str) -> Path:
        if not NAME_RE.match(name):
            raise BrickFailed(f"bad program name {name!r}: letters, digits, '_', '.', '-' only")
        return self.programs / f"{name}.conf"

    def ensure_program(self, name: str, command: str, cwd: str | None = None,
                       env: dict[str, str] | None = None, **options) -> bool:
        """Install or update a program; True when its definition changed.

        A new program is started; a changed one is stopped and started with the new
        definition; an unchanged one is left as it is (running or not).
        """
        return self.install_program_text(name, self._program_text(name, command, cwd, env, options))

    def install_program_text(self, name: str, text: str) -> bool:
        """Install a program section as it is (a rollback puts a recorded one back byte for
        byte); True when it changed, with ``ensure_program``'s start and restart rules."""
        path = self.program_file(name)
        if not text.startswith(f"[program:{name}]\n") or text.count("\n[") or "\r" in text:
            raise BrickFailed(f"a recorded program section of {name} is not one [program:{name}] section")
        self.ensure_running()
        with self._locked():
            known = self.status(name) is not None
            if known and path.exists() and path.read_text() == text:
                return False
            tmp = path.with_suffix(".tmp")
            tmp.touch(mode=0o600)
            tmp.write_text(text)
            tmp.replace(path)
            self._update()
        return True

    def program_text(self, name: str) -> str | None:
        """The installed ``[program:name]`` section as it is on disk; None when there is none."""
        try:
            return self.program_file(name).read_text()
        except FileNotFoundError:
            return None

    def _program_text(self, name: str, command: str, cwd: str | None,
                      env: dict[str, str] | None, options: dict) -> str:
        env = dict(env or {})
        if "\n" in command or "\r" in command:
            raise BrickFailed("a program command must be one line")
        for key in env:
            if not ENV_KEY_RE.match(key):
                raise BrickFailed(f"bad environment variable name {key!r}")
        spec = ProgramSpec(name=name, command=command, cwd=cwd, env=env, hide=self.hidden(), **options)
        return render_program(spec, self.logs)

    def hidden(self) -> list[str]:
        """What a program running as another user must not see: this host's managed folders
        (its home, other services' volumes) and the agent's NEBHX_HOME (its token file, its
        store when it is a control plane)."""
        from nebhx.runtime.paths import managed_folders
        from nebhx.settings import get_settings
        return list(dict.fromkeys(str(p.resolve()) for p in (*managed_folders(self.root.parent),
                                                             get_settings().home)))

    def differs(self, name: str, command: str, cwd: str | None = None,
                env: dict[str, str] | None = None, **options) -> bool:
        """True when ``ensure_program`` with these arguments would (re)define the program;
        reads only, starts nothing."""
        path = self.program_file(name)
        text = self._program_text(name, command, cwd, env, options)
        return not path.exists() or path.read_text() != text or self.status(name) is None

    def _update(self) -> None:
        """``supervisorctl update``: apply added, changed and removed program files."""
        server = self.rpc().supervisor
        try:
            added, changed, removed = server.reloadConfig()[0]
        except xmlrpc.client.Fault as exc:
            raise BrickFailed(f"supervisord rejected its program files: {exc.faultString}") from exc
        for name in removed + changed:
            self._quietly(server.stopProcessGroup, name, True)
            self._quietly(server.removeProcessGroup, name)
        for name in added + changed:
            server.addProcessGroup(name)

    @staticmethod
    def _quietly(call, *args) -> None:  # noqa: ANN001
        try:
            call(*args)
        except xmlrpc.client.Fault:
            pass  # not running / already gone: the goal state holds anyway

    def status(self, name: str) -> ProgramStatus | None:
        """The program's state, pid and uptime; None when supervisord does not know it."""
        if not self.ping():
            return None
        try:
            info = self.rpc().supervisor.getProcessInfo(name)
        except xmlrpc.client.Fault:
            return None
        running = info["statename"] in UP_STATES and info["pid"]
        return ProgramStatus(
            name=name, state=info["statename"], pid=info["pid"] or None,
            uptime_s=float(info["now"] - info["start"]) if running else 0.0,
            exit_status=None if running else info["exitstatus"],
            description=info["description"])

    def _require(self, name: str) -> None:
        self.ensure_running()
        if self.status(name) is None:
            raise BrickFailed(f"no program {name!r} on this host's supervisor")

    def start(self, name: str) -> ProgramStatus:
        """Ask supervisord to start the program; returns at once (state STARTING)."""
        self._require(name)
        try:
            self.rpc().supervisor.startProcess(name, False)
        except xmlrpc.client.Fault as exc:
            if "ALREADY_STARTED" not in exc.faultString:
                raise BrickFailed(f"cannot start {name}: {exc.faultString}") from exc
        return self.status(name)

    def stop(self, name: str) -> ProgramStatus:
        """Stop the program and wait until it is down (TERM, then KILL after stop_wait_s)."""
        self._require(name)
        try:
            self.rpc().supervisor.stopProcess(name, True)
        except xmlrpc.client.Fault as exc:
            if "NOT_RUNNING" not in exc.faultString:
                raise BrickFailed(f"cannot stop {name}: {exc.faultString}") from exc
        return self.status(name)

    def restart(self, name: str) -> ProgramStatus:
        self.stop(name)
        return self.start(name)

    def remove(self, name: str) -> bool:
        """Stop the program and forget it; True when it existed."""
        path = self.program_file(name)
        with self._locked():
            existed = path.exists()
            path.unlink(missing_ok=True)
            if self.ping():
                self._update()
        return existed

    def tail(self, name: str, stream: str = "stderr", length: int = 2000) -> str:
        """The last ``length`` bytes of the program's stdout or stderr log file."""
        path = self.logs / f"{name}.{'err' if stream == 'stderr' else 'out'}.log"
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, path.stat().st_size - length))
                return fh.read().decode(errors="replace")
        except OSError:
            return ""
