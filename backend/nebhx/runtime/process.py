"""What any launcher offers (supervisord: runtime/supervisor.py; systemd units:
runtime/systemd.py), and small process helpers shared by the adapters that daemonise."""
from __future__ import annotations

import os
import re
import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
UP_STATES = {"STARTING", "RUNNING"}


@dataclass
class ProgramStatus:
    name: str
    state: str  # supervisord's: STOPPED STARTING RUNNING BACKOFF STOPPING EXITED FATAL UNKNOWN
    pid: int | None = None
    uptime_s: float = 0.0
    exit_status: int | None = None
    description: str = ""

    @property
    def up(self) -> bool:
        return self.state in UP_STATES


@dataclass
class ProgramSpec:
    name: str
    command: str
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    start_secs: float = 1  # must stay up this long to count as started
    start_retries: int = 3  # failed starts in a row before FATAL (delays grow 1 s, 2 s, ...)
    stop_wait_s: float = 10
    autorestart: bool = True
    # Who it runs as (None: the launcher's own user) and what it sees of the host's private
    # folders (``hide``): ``read`` read-only, ``write`` read-write (see runtime/launch.py).
    user: str | None = None
    read: list[str] = field(default_factory=list)
    write: list[str] = field(default_factory=list)
    hide: list[str] = field(default_factory=list)


class ProcessManager(ABC):
    """What the launcher needs from a process supervisor (supervisord or systemd units)."""

    @abstractmethod
    def ensure_program(self, name: str, command: str, cwd: str | None = None,
                       env: dict[str, str] | None = None, **options) -> bool: ...

    @abstractmethod
    def start(self, name: str) -> ProgramStatus: ...

    @abstractmethod
    def stop(self, name: str) -> ProgramStatus: ...

    @abstractmethod
    def restart(self, name: str) -> ProgramStatus: ...

    @abstractmethod
    def status(self, name: str) -> ProgramStatus | None: ...

    @abstractmethod
    def remove(self, name: str) -> bool: ...

    @abstractmethod
    def tail(self, name: str, stream: str = "stderr", length: int = 2000) -> str: ...

    # What a switch and its rollback need: compare, record and put back a definition.
    @abstractmethod
    def differs(self, name: str, command: str, cwd: str | None = None,
                env: dict[str, str] | None = None, **options) -> bool: ...

    @abstractmethod
    def program_text(self, name: str) -> str | None: ...

    @abstractmethod
    def install_program_text(self, name: str, text: str) -> bool: ...


def host_env() -> dict[str, str]:
    """The environment for a command a brick runs on the host (a check, a tool, HAProxy):
    the agent's, without its NEBHX_* variables (its token, the broker URL, a control
    plane's database URL and key), which a command's output could show in a run."""
    return {k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}


def unix_socket_path(preferred: Path) -> Path:
    """``preferred`` unless it is too long for a unix socket (108 bytes): then a short
    path in /tmp derived from it, so a deep home still gets a working socket."""
    if len(str(preferred)) < 100:
        return preferred
    digest = hashlib.sha1(str(preferred).encode()).hexdigest()[:16]
    return Path("/tmp") / f"nebhx-{digest}.sock"


def pid_alive(pid: int | None) -> bool:
    """True for a live process; a zombie (exited, not yet reaped) counts as dead."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
