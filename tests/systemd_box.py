"""A real systemd as PID 1 for tests: a Debian tree built once with debootstrap, booted with
``systemd-nspawn -b`` on an overlay (so every boot starts from the clean tree), driven with
``nsenter -t <its PID 1> -a systemctl``.

PID 1 on this machine is not systemd, so there is no other way to run one. The tree is
built on first use into ``$NEBHX_SYSTEMD_TREE`` (default /var/cache/nebhx/debian-systemd;
about 290 MB, a few minutes from the Debian mirror) and kept. Whatever cannot be done here
(no debootstrap, no mirror, nspawn refuses to boot) fails the test with the reason.

The container shares the machine's network (its services answer on 127.0.0.1 like a
host's) and sees ``binds`` at the same paths, so a host home works inside and out.
"""
from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

TREE = Path(os.environ.get("NEBHX_SYSTEMD_TREE", "/var/cache/nebhx/debian-systemd"))
MIRROR = os.environ.get("NEBHX_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = "systemd,systemd-sysv,python3"


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: apt-get install -y {package} (listed in deps/apt.txt)")
    return path


def debian_tree() -> Path:
    """The cached tree, built with debootstrap when it is not there yet (one builder at a time)."""
    if (TREE / "usr/lib/systemd/systemd").exists():
        return TREE
    need("debootstrap", "debootstrap")
    TREE.parent.mkdir(parents=True, exist_ok=True)
    with open(TREE.parent / f".{TREE.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (TREE / "usr/lib/systemd/systemd").exists():
            return TREE
        tmp = TREE.with_name(TREE.name + ".building")
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"\nbuilding a Debian tree with systemd for the launcher tests in {TREE} "
              f"(debootstrap from {MIRROR}, once; a few minutes)")
        proc = subprocess.run(["debootstrap", "--variant=minbase", f"--include={PACKAGES}", "bookworm",
                               str(tmp), MIRROR], capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            pytest.fail(f"debootstrap of a systemd tree failed: {proc.stdout[-800:]}{proc.stderr[-800:]}")
        tmp.rename(TREE)
    return TREE


class Box:
    """One booted container; ``systemctl`` is the command prefix that drives its systemd."""

    def __init__(self, work: Path, binds: list[Path]):
        self.work, self.binds = work, binds
        self.root = work / "root"
        self.proc: subprocess.Popen | None = None
        self.pid1 = 0
        self.log = None

    @property
    def systemctl(self) -> list[str]:
        return ["nsenter", "-t", str(self.pid1), "-a", "systemctl"]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """A command inside the container (its mounts, its PID 1's namespaces)."""
        proc = subprocess.run(["nsenter", "-t", str(self.pid1), "-a", *args], capture_output=True,
                              text=True, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"{args}: {proc.stdout}{proc.stderr}")
        return proc

    def boot(self, timeout: float = 90) -> None:
        need("systemd-nspawn", "systemd-container")
        tree = debian_tree()
        for d in ("upper", "work", "root"):
            (self.work / d).mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={tree},upperdir={self.work / 'upper'},"
                        f"workdir={self.work / 'work'}", str(self.root)], check=True, timeout=30)
        binds = " ".join(shlex.quote(f"--bind={b}") for b in self.binds)
        # nspawn cleans /run/systemd/nspawn and refuses to where /run is not a tmpfs (as here):
        # a private tmpfs there, in a mount namespace of its own, keeps the machine's untouched.
        script = ("mkdir -p /run/systemd/nspawn && mount -t tmpfs tmpfs /run/systemd/nspawn && "
                  f"exec systemd-nspawn -q -D {shlex.quote(str(self.root))} -b --register=no --keep-unit "
                  f"--console=passive {binds}")
        self.log = open(self.work / "nspawn.log", "w")
        self.proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.pid1:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"systemd-nspawn -b did not boot {self.root}: {self.read_log()}")
            self.pid1 = self._find_init()
            time.sleep(0.1)
        state = ""
        while state not in ("running", "degraded"):  # "" until systemd's socket is there
            if time.monotonic() > deadline:
                pytest.fail(f"systemd in the container is {state or 'not answering'}: {self.read_log()}")
            time.sleep(0.1)
            state = subprocess.run([*self.systemctl, "is-system-running", "--wait"], capture_output=True,
                                   text=True, timeout=timeout).stdout.strip()
        self.delegate_controllers()

    def delegate_controllers(self) -> None:
        """On this hybrid cgroup host nspawn mounts the v1 memory and cpu controllers read-only,
        so the container's systemd would accept MemoryMax=/CPUQuota= and enforce nothing.
        Made writable and re-detected (daemon-reexec), it applies them as a host's would
        (MemoryMax as memory.limit_in_bytes, CPUQuota as cpu.cfs_quota_us)."""
        for controller in ("memory", "cpu", "cpuacct"):
            self.run("/bin/mount", "-o", "remount,bind,rw", f"/sys/fs/cgroup/{controller}", check=False)
        self.run("systemctl", "daemon-reexec")

    def read_log(self) -> str:
        try:
            return (self.work / "nspawn.log").read_text()[-1500:]
        except OSError:
            return ""

    def _find_init(self) -> int:
        """The container's PID 1 as this machine sees it: a systemd below our nspawn."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                comm = (entry / "comm").read_text().strip()
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if comm == "systemd" and self._below(ppid):
                return int(entry.name)
        return 0

    def _below(self, pid: int) -> bool:
        while pid > 1:
            if self.proc and pid == self.proc.pid:
                return True
            try:
                pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                return False
        return False

    def shutdown(self, timeout: float = 30) -> None:
        """Power the container off (nspawn turns SIGTERM into a clean shutdown) and unmount."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        subprocess.run(["umount", "-l", str(self.root)], capture_output=True, timeout=30)
        if self.log:
            self.log.close()


def booted(tmp_path_factory) -> Box:
    """A module fixture's body: a booted Box whose ``home`` (a folder for host homes) is
    seen at the same path inside; yields it and powers it off whatever happens."""
    assert os.geteuid() == 0, "booting systemd-nspawn needs root; run the tests as root"
    home = tmp_path_factory.mktemp("sdhost")
    box = Box(tmp_path_factory.mktemp("sdbox"), binds=[home])
    box.home = home
    try:
        box.boot()
        yield box
    finally:
        box.shutdown()
