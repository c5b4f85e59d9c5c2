"""Real filesystems for the volume drivers: btrfs and XFS (reflink) on loop devices, an LVM
thin pool where the kernel has device-mapper.

Tests marked ``devmapper`` need ``/dev/mapper/control``. Where it is missing (this project's
CI kernel) they are deselected, not skipped: they count neither as passed nor as skipped,
and the end of the run lists them under "not run here" with the reason.
``NEBHX_RUN_DEVMAPPER=1`` keeps them anyway (they then fail loudly).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

DM_CONTROL = Path("/dev/mapper/control")
NOT_RUN = pytest.StashKey[list]()


def pytest_collection_modifyitems(config, items):
    if DM_CONTROL.exists() or os.environ.get("NEBHX_RUN_DEVMAPPER") == "1":
        return
    dropped = [i for i in items if i.get_closest_marker("devmapper")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if not i.get_closest_marker("devmapper")]
        config.stash[NOT_RUN] = dropped


def pytest_terminal_summary(terminalreporter, config):
    dropped = config.stash.get(NOT_RUN, [])
    if dropped:
        terminalreporter.section("not run here", yellow=True)
        terminalreporter.line(f"{len(dropped)} LVM tests deselected: this kernel has no device-mapper "
                              f"({DM_CONTROL} is missing), so lvcreate cannot make a volume. They run "
                              "where it exists (or with NEBHX_RUN_DEVMAPPER=1):")
        for item in dropped:
            terminalreporter.line(f"  {item.nodeid}")


def sh(*cmd: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def need(command: str, package: str) -> None:
    if not shutil.which(command):
        pytest.fail(f"{command} is missing: install {package} (deps/apt.txt; ./dev test installs it)")


def loop_filesystem(base: Path, mkfs: list[str], size: str = "400M"):
    """A fresh filesystem on a loop device, mounted at ``base/mnt``; a generator for fixtures."""
    img, mnt = base / "img", base / "mnt"
    mnt.mkdir()
    sh("truncate", "-s", size, str(img))
    dev = sh("losetup", "-f", "--show", str(img))
    try:
        sh(*mkfs, dev)
        sh("mount", dev, str(mnt))
        try:
            yield mnt
        finally:
            subprocess.run(["umount", "-R", str(mnt)], capture_output=True)
    finally:
        subprocess.run(["losetup", "-d", dev], capture_output=True)


@pytest.fixture(scope="session")
def btrfs_fs(tmp_path_factory):
    need("mkfs.btrfs", "btrfs-progs")
    yield from loop_filesystem(tmp_path_factory.mktemp("btrfs"), ["mkfs.btrfs", "-q"])


@pytest.fixture(scope="session")
def xfs_fs(tmp_path_factory):
    need("mkfs.xfs", "xfsprogs")
    yield from loop_filesystem(tmp_path_factory.mktemp("xfs"), ["mkfs.xfs", "-q", "-m", "reflink=1"])


@pytest.fixture(scope="session")
def lvm_vg(tmp_path_factory):
    """A volume group with a thin pool on a loop device: ``(vg, pool)``."""
    need("lvcreate", "lvm2")
    base = tmp_path_factory.mktemp("lvm")
    img = base / "img"
    sh("truncate", "-s", "1G", str(img))
    dev = sh("losetup", "-f", "--show", str(img))
    vg = f"nbxtest{os.getpid()}"
    try:
        sh("pvcreate", "-q", dev)
        sh("vgcreate", "-q", vg, dev)
        sh("lvcreate", "-q", "--type", "thin-pool", "-L", "800M", "-n", "pool", vg)
        yield vg, "pool"
    finally:
        subprocess.run(["vgremove", "-f", "-y", vg], capture_output=True)
        subprocess.run(["pvremove", "-y", dev], capture_output=True)
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def unmount_under(path: Path) -> None:
    """Unmount whatever a test left mounted under ``path`` (deepest first)."""
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for mnt in sorted((m for m in mounts if m.startswith(str(path))), key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], capture_output=True)
