"""Real filesystems for the volume drivers: btrfs and XFS (reflink) on loop devices, an LVM
thin pool where the kernel has device-mapper.

Tests marked ``devmapper`` need device-mapper in the kernel (``/proc/misc`` lists it and
``/dev/mapper/control`` exists). Where it is missing (this project's CI kernel) they are
deselected, not skipped: they count neither as passed nor as skipped,
and the end of the run lists them under "not run here" with the reason.
``NEBHX_RUN_DEVMAPPER=1`` keeps them anyway (they then fail loudly).
"""
from __future__ import annotations

import os
import subprocess

import pytest
from volume_support import loop_filesystem, need, sh

from nebhx.runtime.storage.lvm import device_mapper_missing

NOT_RUN = pytest.StashKey[list]()


def pytest_collection_modifyitems(config, items):
    if device_mapper_missing() is None or os.environ.get("NEBHX_RUN_DEVMAPPER") == "1":
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
        terminalreporter.line(f"{len(dropped)} LVM tests deselected: {device_mapper_missing()}, so lvcreate "
                              "cannot make a volume. They run where it has one (or with NEBHX_RUN_DEVMAPPER=1):")
        for item in dropped:
            terminalreporter.line(f"  {item.nodeid}")


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
