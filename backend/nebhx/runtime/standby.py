"""The standby of a blue-green switch: the previous release's process, kept out of rotation
on its own port for a declared time, first warm, then frozen (no CPU), then stopped.

One entry per standby program, ``<home>/standby/<program>.json``: its pid (and the pid's
start time, so a reused pid is never touched), when to freeze it, when to stop it, and
how it is frozen. The keeper (``python3 -I standby.py --dir D --sock S``, one per host under
its supervisord) freezes each at ``freeze_at`` and, at ``stop_at``, thaws and stops it
through supervisord. A rollback takes it back (``take``: thawed, entry gone); a new switch
or a commit drops it (``drop``: thawed, stopped, entry gone). An entry changes only under
its lock, so a rollback and the keeper never act on one standby at once.

Freezing: the cgroup v1 freezer where it is writable (nothing is sent to the process, it
cannot tell), else SIGSTOP to its process group (``ip netns exec`` hides the cgroup
mounts). Standard library only: the keeper runs with nothing of Nebh-X's environment.
"""
from __future__ import annotations

import argparse
import fcntl
import http.client
import json
import os
import signal
import socket
import time
import xmlrpc.client
from contextlib import contextmanager
from pathlib import Path

FREEZER = Path("/sys/fs/cgroup/freezer")


def start_time(pid: int | None) -> str | None:
    """The process's start time in clock ticks (field 22 of /proc/PID/stat); None when gone."""
    try:
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
    except (OSError, TypeError, ValueError):
        return None
    return stat.rpartition(")")[2].split()[19]


def state_of(pid: int) -> str | None:
    """R, S, T (stopped), ... from /proc/PID/stat; None when gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return None


def group(pgid: int) -> list[int]:
    """Every process of process group ``pgid`` (supervisord gives each program its own)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                out.append(int(entry.name))
    return out


def alive(entry: dict) -> bool:
    return start_time(entry.get("pid")) == entry.get("start") is not None


def _freezer_home(pid: int) -> Path | None:
    """The cgroup v1 freezer folder ``pid`` is in, when the freezer is mounted and writable."""
    if not os.access(FREEZER / "cgroup.procs", os.W_OK):
        return None
    try:
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            _id, controllers, path = line.split(":", 2)
            if "freezer" in controllers.split(","):
                home = FREEZER / path.lstrip("/")
                return home if home.is_dir() else None
    except OSError:
        pass
    return None


def _wait_state(cg: Path, want: str, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while (cg / "freezer.state").read_text().strip() != want:
        if time.monotonic() > deadline:
            raise OSError(f"{cg} did not become {want} within {timeout}s")
        time.sleep(0.005)


def freeze(entry: dict, how: str = "auto") -> None:
    """Freeze the standby's process group: ``entry`` gets ``how`` (cgroup or sigstop)."""
    pid = entry["pid"]
    home = _freezer_home(pid) if how in ("auto", "cgroup") else None
    if home is None and how == "cgroup":
        raise OSError(f"no writable cgroup v1 freezer for pid {pid}")
    if home is None:
        os.killpg(pid, signal.SIGSTOP)
        entry.update(how="sigstop", state="frozen")
        return
    cg = home / f"nebhx-standby-{entry['program']}"
    cg.mkdir(exist_ok=True)
    entry.update(how="cgroup", cgroup=str(cg), home=str(home), state="frozen")
    for _ in range(2):  # again after freezing: a child forked meanwhile joins the frozen group
        for p in group(pid):
            _move(p, cg)
        (cg / "freezer.state").write_text("FROZEN")
        _wait_state(cg, "FROZEN")


def _move(pid: int, cg: Path) -> None:
    try:
        (cg / "cgroup.procs").write_text(str(pid))
    except ProcessLookupError:
        pass  # it ended meanwhile


def thaw(entry: dict, tidy: bool = True) -> None:
    """Undo ``freeze`` (nothing when it is warm); with ``tidy`` the processes also go back
    to their cgroup (``tidy`` later does that when every millisecond counts now)."""
    if entry.get("state") != "frozen":
        return
    if entry.get("how") == "sigstop":
        try:
            os.killpg(entry["pid"], signal.SIGCONT)
        except ProcessLookupError:
            pass
    elif Path(entry["cgroup"]).is_dir():
        cg = Path(entry["cgroup"])
        (cg / "freezer.state").write_text("THAWED")
        _wait_state(cg, "THAWED")
    entry["state"] = "warm"
    if tidy:
        tidy_up(entry)


def tidy_up(entry: dict) -> None:
    """A thawed standby's processes back in their own cgroup, and ours removed."""
    if entry.get("how") != "cgroup" or not Path(entry["cgroup"]).is_dir():
        return
    cg, home = Path(entry["cgroup"]), Path(entry["home"])
    for p in (cg / "cgroup.procs").read_text().split():
        _move(int(p), home)
    try:
        cg.rmdir()
    except OSError:
        pass  # a process still moving out: left empty, harmless


# -- entries ---------------------------------------------------------------------------------
def _path(folder: Path, program: str) -> Path:
    return Path(folder) / f"{program}.json"


def _read(folder: Path, program: str) -> dict | None:
    try:
        return json.loads(_path(folder, program).read_text())
    except (OSError, ValueError):
        return None


def _write(folder: Path, entry: dict) -> None:
    path = _path(folder, entry["program"])
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(entry))
    tmp.replace(path)


@contextmanager
def locked(folder: Path, program: str, block: bool = True):
    """The entry's lock; with ``block`` false, yields False at once when someone holds it."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    with open(Path(folder) / f"{program}.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True


def keep(folder: Path, program: str, pid: int, freeze_at: float, stop_at: float) -> dict:
    """Register ``program`` (running as ``pid``) as a standby: warm until ``freeze_at``."""
    entry = {"program": program, "pid": pid, "start": start_time(pid), "state": "warm",
             "freeze_at": freeze_at, "stop_at": stop_at, "kept_at": time.time()}
    with locked(folder, program):
        _write(folder, entry)
    return entry


def peek(folder: Path, program: str) -> dict | None:
    """The entry while its process is alive (warm or frozen), else None."""
    entry = _read(folder, program)
    return entry if entry and alive(entry) else None


def take(folder: Path, program: str) -> dict | None:
    """Take the standby back into service: thawed, entry removed (``tidy_up`` it later). None
    when there is none any more (expired and stopped, or its process is gone): the caller
    starts it cold."""
    with locked(folder, program):
        entry = _read(folder, program)
        if entry is None:
            return None
        if alive(entry):
            thaw(entry, tidy=False)  # the caller tidies up once it serves
        _path(folder, program).unlink(missing_ok=True)
        return entry if alive(entry) else None


def drop(folder: Path, program: str, stop) -> bool:  # noqa: ANN001 - stop(program)
    """Stop the standby now (thawed first, so it ends cleanly); True when there was one."""
    with locked(folder, program):
        entry = _read(folder, program)
        if entry is None:
            return False
        if alive(entry):
            thaw(entry)
            _write(folder, entry)
            stop(program)
        _path(folder, program).unlink(missing_ok=True)
        return True


def tick(folder: Path, stop, now: float | None = None) -> list[str]:  # noqa: ANN001
    """One pass of the keeper: freeze what is due, stop what expired. Returns what it did."""
    now, done = now or time.time(), []
    for path in sorted(Path(folder).glob("*.json")):
        program = path.stem
        with locked(folder, program, block=False) as mine:
            entry = _read(folder, program) if mine else None
            if entry is None:
                continue
            try:
                if not alive(entry):
                    path.unlink(missing_ok=True)
                    done.append(f"{program}: gone")
                elif now >= entry["stop_at"]:
                    thaw(entry)
                    _write(folder, entry)
                    stop(program)
                    path.unlink(missing_ok=True)
                    done.append(f"{program}: stopped")
                elif now >= entry["freeze_at"] and entry["state"] == "warm":
                    freeze(entry)
                    _write(folder, entry)
                    done.append(f"{program}: frozen ({entry['how']})")
            except (OSError, xmlrpc.client.Error) as exc:  # tried again on the next pass
                done.append(f"{program}: {exc}")
    return done


# -- the keeper ------------------------------------------------------------------------------
class _Unix(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class _Transport(xmlrpc.client.Transport):
    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def make_connection(self, host):  # noqa: ANN001 - xmlrpc's signature
        return _Unix(self.path)


def supervisor_stop(sock: str):
    """``stop(program)`` through supervisord's XML-RPC on its unix socket."""
    def stop(program: str) -> None:
        rpc = xmlrpc.client.ServerProxy("http://localhost", transport=_Transport(sock))
        try:
            rpc.supervisor.stopProcess(program, True)
        except xmlrpc.client.Fault as exc:
            if "NOT_RUNNING" not in exc.faultString and "BAD_NAME" not in exc.faultString:
                raise
    return stop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--sock", required=True, help="the host's supervisord socket")
    ap.add_argument("--interval", type=float, default=0.1)
    args = ap.parse_args()
    stop = supervisor_stop(args.sock)
    while True:
        for line in tick(args.dir, stop):
            print(time.strftime("%H:%M:%S"), line, flush=True)
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
