"""Servers a fault test may stop: a Redis and a PostgreSQL of its own, each restartable on
the same port; and the ledger the counted bricks (tests/testbricks/faults.py) write."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from support import free_port, wait_for

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class Redis:
    """A private redis-server that can be stopped (SIGTERM or SIGKILL) and started again."""

    def __init__(self):
        self.port, self.proc = free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        exe = shutil.which("redis-server") or "redis-server"
        self.proc = subprocess.Popen([exe, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL)
        wait_for(lambda: socket.create_connection(("127.0.0.1", self.port), timeout=0.2), 10, what="redis up")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(timeout=10)


class Postgres:
    """A private PostgreSQL 15 cluster in a temporary folder, run as user postgres."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="nebhx-pg-"))
        self.data, self.port = self.dir / "data", free_port()
        shutil.chown(self.dir, "postgres")
        self._as_postgres(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        self._as_postgres(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", "nebhx")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/nebhx"

    def _as_postgres(self, *cmd) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *map(str, cmd)], check=True, timeout=60,
                       capture_output=True, cwd=self.dir)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-o", opts, "-l", self.dir / "log", "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)


class Ledger:
    """The "START node attempt" / "END node attempt" lines of the counted bricks."""

    def __init__(self, path: Path):
        self.path = path

    def lines(self) -> list[str]:
        return self.path.read_text().splitlines() if self.path.exists() else []

    def count(self, word: str, node: str) -> int:
        return sum(1 for line in self.lines() if line.split()[:2] == [word, node])

    def wait_line(self, line: str, timeout: float = 60) -> float:
        """Wait until ``line`` is written; the monotonic time it was seen."""
        wait_for(lambda: line in self.lines(), timeout, interval=0.05, what=f"ledger line {line!r}")
        return time.monotonic()

    def wait_new_start(self, after: int, timeout: float = 60) -> float:
        """Wait for a START line past the first ``after`` lines: the run moves again."""
        wait_for(lambda: any(line.startswith("START") for line in self.lines()[after:]), timeout,
                 interval=0.05, what="a node started after the fault")
        return time.monotonic()


    def intervals(self, node: str) -> dict[int, tuple[float, float]]:
        """When each attempt of ``node``'s command ran: (first tick, last tick) by attempt."""
        out: dict[int, tuple[float, float]] = {}
        for line in self.lines():
            word, *rest = line.split()
            if word == "TICK" and rest[0] == node:
                attempt, at = int(rest[1]), float(rest[2])
                first, last = out.get(attempt, (at, at))
                out[attempt] = (min(first, at), max(last, at))
        return out


def alive(proc) -> bool:
    return proc.poll() is None


def signal_group(proc, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
