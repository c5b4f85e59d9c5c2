"""The systemd launcher: one unit per program, driven with ``systemctl``.

The same ``ProcessManager`` as supervisord (runtime/supervisor.py): install or update a
program, start, stop, restart, status, remove, tail; plus the text a rollback records and
puts back byte for byte. A program is ``<prefix><name>.service`` in ``unit_dir`` (and, with
a liveness command, ``<prefix>_live-<name>.service`` + ``.timer``); its environment is an
``EnvironmentFile`` in ``<root>/env`` (mode 600, in a 700 folder; see runtime/units.py).

``systemctl`` is a command prefix so that the same code drives the machine's own systemd
(``systemctl``) or one in a container (``nsenter -t PID -a systemctl``, as the tests do).
"""
from __future__ import annotations

import fcntl
import os
import pwd
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.launch import own
from nebhx.runtime.process import ProcessManager, ProgramStatus
from nebhx.runtime.units import (SEPARATOR, UnitSpec, env_file_text, live_unit, render_liveness, render_service,
                                 unit_name)

# systemd's ActiveState/SubState as supervisord's state names, which the bricks read.
_STATES = {"active": "RUNNING", "reloading": "RUNNING", "activating": "STARTING",
           "deactivating": "STOPPING", "failed": "FATAL", "inactive": "STOPPED"}
_PROPS = ("LoadState", "ActiveState", "SubState", "MainPID", "ExecMainStartTimestampMonotonic",
          "ExecMainStatus", "Result", "NRestarts")


def pid1_is_systemd() -> bool:
    """Whether this machine's init is systemd (sd_booted(3): what the ``launcher`` default follows)."""
    return Path("/run/systemd/system").is_dir()


def default_launcher() -> str:
    """The launcher when a graph names none: systemd where PID 1 is systemd and the agent is
    root (system units are root's to write), else supervisord."""
    return "systemd" if pid1_is_systemd() and os.geteuid() == 0 else "supervisord"


class Systemd(ProcessManager):
    """Programs of one host home as systemd units; ``root`` holds their environment files."""

    def __init__(self, root: Path, unit_dir: Path = Path("/etc/systemd/system"),
                 systemctl: list[str] | None = None, prefix: str = "nbx-", timeout: float = 60):
        self.root = Path(root)
        self.envs = self.root / "env"
        self.unit_dir = Path(unit_dir)
        self.systemctl = list(systemctl or ["systemctl"])
        self.prefix = prefix
        self.timeout = timeout
        self.answered = False  # a systemd answered once: it is there

    # -- systemctl ----------------------------------------------------------------------
    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        try:
            proc = subprocess.run([*self.systemctl, *args], capture_output=True, text=True,
                                  timeout=self.timeout, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BrickFailed(f"launcher systemd: cannot run {' '.join([*self.systemctl, *args])}: {exc}") from exc
        if check and proc.returncode != 0:
            raise BrickFailed(f"systemctl {' '.join(args)} failed: {(proc.stderr or proc.stdout).strip()[-400:]}")
        return proc

    def unit(self, name: str, kind: str = "service") -> str:
        return unit_name(self.prefix, name, kind)

    def live(self, name: str, kind: str = "service") -> str:
        return live_unit(self.prefix, name, kind)

    def env_file(self, name: str) -> Path:
        unit_name(self.prefix, name)  # the name is checked before it names a file
        return self.envs / f"{name}.env"

    @contextmanager
    def _locked(self):
        """One change at a time per home, across worker processes."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    # -- definitions --------------------------------------------------------------------
    def render(self, spec: UnitSpec) -> str:
        """All of a program's files as one text: ``### <file>`` then its content, the
        environment file first (what ``program_text`` returns and a rollback puts back)."""
        files = {f"{spec.name}.env": env_file_text("env", spec.env),
                 self.unit(spec.name): render_service(spec, self.prefix, self.env_file(spec.name)),
                 **render_liveness(spec, self.prefix)}
        return "".join(f"{SEPARATOR}{fname}\n{text}" for fname, text in files.items())

    def _spec(self, name: str, command: str, cwd: str | None, env: dict[str, str] | None,
              options: dict) -> UnitSpec:
        return UnitSpec(name=name, command=command, cwd=cwd, env=dict(env or {}),
                        hide=self.hidden(), **options)

    def hidden(self) -> list[str]:
        """As for supervisord: the host's managed folders and the agent's home."""
        from nebhx.runtime.paths import managed_folders
        from nebhx.settings import get_settings
        return list(dict.fromkeys(str(p.resolve()) for p in (*managed_folders(self.root.parent),
                                                             get_settings().home)))

    def split(self, name: str, text: str) -> dict[str, str]:
        """The files of a recorded text, refused unless they are exactly this program's."""
        parts: dict[str, str] = {}
        for chunk in text.split(SEPARATOR)[1:]:
            fname, _, body = chunk.partition("\n")
            parts[fname] = body
        allowed = {f"{name}.env", self.unit(name), self.live(name), self.live(name, "timer")}
        if (not text.startswith(SEPARATOR) or set(parts) - allowed or self.unit(name) not in parts
                or "\r" in text):
            raise BrickFailed(f"a recorded unit text of {name} is not this program's unit files")
        return parts

    def ensure_program(self, name: str, command: str, cwd: str | None = None,
                       env: dict[str, str] | None = None, **options) -> bool:
        """Install or update a program; True when its definition changed. A new program is
        started, a changed one restarted, an unchanged one left as it is."""
        spec = self._spec(name, command, cwd, env, options)
        text = self.render(spec)
        if spec.user and spec.user != "root":
            try:
                user = pwd.getpwnam(spec.user)
            except KeyError:
                raise BrickFailed(f"user: there is no user {spec.user!r} on this host") from None
            for path in spec.write:  # what launch.py does: the data folder is the user's
                if os.path.exists(path):
                    own(path, user.pw_uid, user.pw_gid)
        return self.install_program_text(name, text)

    def require_systemd(self) -> None:
        """Refuse, before anything is written, where no systemd answers (PID 1 is another init)."""
        if self.answered:
            return
        proc = self.ctl("show", "--property=Version", check=False)
        if proc.returncode != 0 or not proc.stdout.startswith("Version="):
            raise BrickFailed(f"launcher systemd: no systemd answers {' '.join(self.systemctl)} on this host "
                              f"({(proc.stderr or proc.stdout).strip()[:200]}); use launcher supervisord")
        self.answered = True

    def install_program_text(self, name: str, text: str) -> bool:
        parts = self.split(name, text)
        self.require_systemd()
        with self._locked():
            if self.program_text(name) == text and self.status(name) is not None:
                return False
            self._write(name, parts)
            self.ctl("daemon-reload")
            units = [u for u in parts if not u.endswith(".env")]
            # The reload above is enough: enable would reload once more (slow: all units).
            self.ctl("enable", "--no-reload", *[u for u in units if u != self.live(name)])
            self.ctl("restart", "--no-block", self.unit(name))
            if self.live(name, "timer") in parts:
                self.ctl("restart", "--no-block", self.live(name, "timer"))
        return True

    def _write(self, name: str, parts: dict[str, str]) -> None:
        for folder, mode in ((self.root, 0o700), (self.envs, 0o700)):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(mode)
        self.unit_dir.mkdir(parents=True, exist_ok=True)
        stale = {self.live(name), self.live(name, "timer")} - set(parts)
        self._remove_files(stale)
        for fname, body in parts.items():
            path = self.env_file(name) if fname.endswith(".env") else self.unit_dir / fname
            tmp = path.with_name(path.name + ".tmp")
            tmp.touch(mode=0o600 if fname.endswith(".env") else 0o644)
            tmp.write_text(body)
            tmp.replace(path)

    def _remove_files(self, units: set[str]) -> None:
        for unit in units:
            if (self.unit_dir / unit).exists():
                self.ctl("disable", "--now", unit, check=False)
                (self.unit_dir / unit).unlink(missing_ok=True)

    def program_text(self, name: str) -> str | None:
        """The installed files as ``render`` writes them; None when there is no unit."""
        main = self.unit_dir / self.unit(name)
        if not main.exists():
            return None
        files = {f"{name}.env": self.env_file(name), self.unit(name): main}
        for unit in (self.live(name), self.live(name, "timer")):
            files[unit] = self.unit_dir / unit
        return "".join(f"{SEPARATOR}{fname}\n{path.read_text()}" for fname, path in files.items()
                       if path.exists())

    def differs(self, name: str, command: str, cwd: str | None = None,
                env: dict[str, str] | None = None, **options) -> bool:
        """True when ``ensure_program`` with these arguments would (re)define the program."""
        text = self.render(self._spec(name, command, cwd, env, options))
        return self.program_text(name) != text or self.status(name) is None

    # -- running ------------------------------------------------------------------------
    def status(self, name: str) -> ProgramStatus | None:
        """The unit's state in supervisord's words; None when systemd does not know it."""
        proc = self.ctl("show", self.unit(name), *[f"--property={p}" for p in _PROPS], check=False)
        info = dict(line.partition("=")[::2] for line in proc.stdout.splitlines())
        if proc.returncode != 0 or info.get("LoadState") in (None, "", "not-found"):
            return None
        state = _STATES.get(info.get("ActiveState", ""), "UNKNOWN")
        if info.get("SubState") == "auto-restart":
            state = "BACKOFF"
        elif state == "STOPPED" and info.get("Result") not in ("success", None):
            state = "EXITED"
        pid = int(info.get("MainPID") or 0) or None
        started = int(info.get("ExecMainStartTimestampMonotonic") or 0) / 1e6
        uptime = max(0.0, time.clock_gettime(time.CLOCK_MONOTONIC) - started) if pid and started else 0.0
        if state == "RUNNING" and uptime < self._start_secs(name):
            state = "STARTING"  # supervisord's startsecs: up, but not long enough yet
        return ProgramStatus(name=name, state=state, pid=pid if state in ("RUNNING", "STARTING") else None,
                             uptime_s=uptime if pid else 0.0,
                             exit_status=None if pid else int(info.get("ExecMainStatus") or 0),
                             description=f"{info.get('ActiveState')}/{info.get('SubState')} "
                                         f"({info.get('Result')}, restarts {info.get('NRestarts')})")

    def _start_secs(self, name: str) -> float:
        try:
            text = (self.unit_dir / self.unit(name)).read_text()
        except OSError:
            return 0.0
        line = next((x for x in text.splitlines() if x.startswith("X-NebhxStartSecs=")), "=0")
        return float(line.partition("=")[2] or 0)

    def _require(self, name: str) -> None:
        if self.status(name) is None:
            raise BrickFailed(f"no unit {self.unit(name)} on this host's systemd")

    def start(self, name: str) -> ProgramStatus:
        """Ask systemd to start the unit; returns at once (state STARTING or RUNNING)."""
        self._require(name)
        self.ctl("reset-failed", self.unit(name), check=False)  # a FATAL unit may start again
        self.ctl("start", "--no-block", self.unit(name))
        return self.status(name)

    def stop(self, name: str) -> ProgramStatus:
        """Stop the unit (and its liveness timer) and wait until it is down."""
        self._require(name)
        self.ctl("stop", self.live(name, "timer"), self.unit(name), check=False)
        return self.status(name)

    def restart(self, name: str) -> ProgramStatus:
        self.stop(name)
        return self.start(name)

    def remove(self, name: str) -> bool:
        """Stop, disable and delete the program's units and environment file."""
        with self._locked():
            existed = (self.unit_dir / self.unit(name)).exists()
            self._remove_files({self.live(name, "timer"), self.live(name), self.unit(name)})
            self.env_file(name).unlink(missing_ok=True)
            self.ctl("daemon-reload", check=False)
            self.ctl("reset-failed", self.unit(name), check=False)
        return existed

    def tail(self, name: str, stream: str = "stderr", length: int = 2000) -> str:
        """The end of the unit's journal (systemd keeps stdout and stderr together)."""
        journalctl = [*self.systemctl[:-1], "journalctl"]
        try:
            proc = subprocess.run([*journalctl, "--no-pager", "-o", "cat", "-n", "50", "-u", self.unit(name)],
                                  capture_output=True, text=True, timeout=self.timeout, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return proc.stdout[-length:]
