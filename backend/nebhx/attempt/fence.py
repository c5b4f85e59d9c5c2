"""Fencing: a node runs at most once at a time on a machine.

Each prefork pool child leads a process group of its own (``lead_own_group``), so the
processes a brick starts without detaching (commands, probes, scripts' children) are that
attempt's group; daemons a brick starts on purpose (supervisord, HAProxy) detach into their
own sessions and are left alone. While an attempt runs, a record on the machine names it:
``<home>/attempts/<digest of run and node>`` holds the attempt number, the group and its
leader's start time.

Before an attempt runs, whoever claimed it stops what an earlier attempt of the same node
still runs here (SIGKILL to its group, waiting until no live member is left): after a worker
or agent was SIGKILLed its pool child dies with it, but the commands that child started do
not. An attempt whose lease was lost (cancelled, timed out, taken for lost) stops the rest of
its group at once (``stop_my_group``). The record is read and changed under ``flock``, so an
attempt that ends while the next one claims it is either stopped whole or already gone.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("nebhx.fence")
_own_group = False  # this process leads the group its bricks' processes join (prefork child)


def lead_own_group() -> None:
    """Make this process (a prefork pool child) the leader of a process group of its own."""
    global _own_group
    try:
        os.setpgid(0, 0)
    except OSError as exc:  # e.g. a session leader already: it leads its group anyway
        log.debug("setpgid: %s", exc)
    _own_group = os.getpgid(0) == os.getpid()


def folder() -> Path:
    from nebhx.settings import get_settings
    return get_settings().home / "attempts"


def _start_time(pid: int) -> int | None:
    """A process's start time in clock ticks since boot (tells a reused pid apart), or None."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


_mine: tuple[int, int | None] | None = None


def _my_start(pid: int) -> int | None:
    """This process's start time, read once (a pool child forks from a parent that read its own)."""
    global _mine
    if _mine is None or _mine[0] != pid:
        _mine = (pid, _start_time(pid))
    return _mine[1]


def members(pgid: int) -> list[int]:
    """Live (not zombie) processes of group ``pgid``."""
    out = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def stop_group(pgid: int, start: int | None, *, wait_s: float = 10.0) -> list[int]:
    """SIGKILL every process of group ``pgid`` (led by a process started at ``start``) and
    wait until none is alive; the pids that were. A pid is not reused while a group bears
    its number, so a leader that is gone leaves the group its members, still this one's."""
    now = _start_time(pgid)
    if now is not None and start is not None and now != start:
        return []  # the leader's pid was reused: the old group is long empty
    pids = members(pgid)
    if not pids:
        return []
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return pids
    deadline = time.monotonic() + wait_s
    while members(pgid):
        if time.monotonic() > deadline:
            raise TimeoutError(f"process group {pgid} still has live processes {wait_s:g} s after SIGKILL")
        time.sleep(0.01)
    return pids


def stop_my_group() -> list[int]:
    """Stop the other processes of this attempt's group (its commands); the pids stopped."""
    if not _own_group:
        return []
    me, out = os.getpid(), []
    for pid in members(me):
        if pid != me:
            try:
                os.kill(pid, signal.SIGKILL)
                out.append(pid)
            except ProcessLookupError:
                pass
    return out


@dataclass
class Held:
    path: Path
    attempt: int
    stopped: list[int]  # processes of an earlier attempt stopped before this one


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except FileNotFoundError:  # the folder, made on first use (not looked for on every node)
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


@contextmanager
def _locked(path: Path) -> Iterator[int]:
    """The record's file, open and exclusively locked (a file unlinked meanwhile is opened again)."""
    while True:
        fd = _open(path)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:
            break
        os.close(fd)
    try:
        yield fd
    finally:
        os.close(fd)


def _read(fd: int) -> dict | None:
    raw = os.pread(fd, 4096, 0)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _path(run_id: str, node_id: str) -> Path:
    return folder() / hashlib.sha1(f"{run_id}\0{node_id}".encode()).hexdigest()


def take(run_id: str, node_id: str, attempt: int) -> Held | None:
    """Stop what an earlier attempt of this node still runs here, then record this one.

    None where attempts have no group of their own (solo or thread pools): nothing recorded.
    """
    if not _own_group:
        return None
    path = _path(run_id, node_id)
    with _locked(path) as fd:
        old = _read(fd)
        stopped: list[int] = []
        if old and old.get("attempt", 0) < attempt:
            mine = old["pgid"] == os.getpid()  # an attempt of ours that did not end: only its commands
            stopped = stop_my_group() if mine else stop_group(old["pgid"], old.get("start"))
            if stopped:
                log.warning("stopped attempt %s of %s/%s still running here (processes %s) before "
                            "attempt %s", old["attempt"], run_id, node_id, stopped, attempt)
        pid = os.getpid()
        record = {"run": run_id, "node": node_id, "attempt": attempt, "pgid": pid, "start": _my_start(pid)}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
    return Held(path, attempt, stopped)


def release(held: Held | None) -> None:
    """The attempt ended here: forget its record (unless a later attempt took it over)."""
    if held is None:
        return
    with _locked(held.path) as fd:
        now = _read(fd)
        if now is None or now.get("attempt") == held.attempt:
            held.path.unlink(missing_ok=True)


def stop_leftovers() -> int:
    """At a worker's start: stop the groups of attempts whose process died without ending
    them (its worker was killed), whether or not the node comes back here. How many."""
    stopped = 0
    base = folder()
    for path in base.iterdir() if base.is_dir() else ():
        with _locked(path) as fd:
            old = _read(fd)
            if old is not None and _start_time(old["pgid"]) == old.get("start"):
                continue  # its process still runs the attempt
            stopped += bool(old and stop_group(old["pgid"], old.get("start")))
            path.unlink(missing_ok=True)
    return stopped
