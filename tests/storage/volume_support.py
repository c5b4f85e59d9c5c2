"""Helpers of the storage tests: commands that must work, loop filesystems, mount cleanup."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


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


def unmount_under(path: Path) -> None:
    """Unmount whatever a test left mounted under ``path`` (deepest first)."""
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for mnt in sorted((m for m in mounts if m.startswith(str(path))), key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], capture_output=True)
