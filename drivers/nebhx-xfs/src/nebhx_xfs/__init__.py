"""XFS reflink volumes: a worked example of a vendor's volume driver for Nebh-X.

Everything it uses from nebhx is the driver SDK, ``nebhx.runtime.storage`` (the interface,
the TreeDriver base for folder-shaped volumes, filesystem helpers) and ``BrickFailed`` and
``shell`` for errors and commands. It provisions its "array" itself: an XFS filesystem with
reflink on a loop device, when the pool it is given is not one already.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from nebhx.bricks.base import BrickFailed
from nebhx.runtime import shell
from nebhx.runtime.storage import TreeDriver, Usage, Volume
from nebhx.runtime.storage.dirs import copy_tree
from nebhx.runtime.storage.fs import disk_usage, filesystems, fs_type, read_json, write_json

__all__ = ["XfsDriver"]


class XfsDriver(TreeDriver):
    name = "xfs"
    summary = "a folder on an XFS pool with reflink; snapshots are reflinked copies (instant, shared blocks)"
    options = {"pool": "a folder on an XFS filesystem with reflink (default <home>/xfs)",
               "image_size": "make the pool when it is not one: an image of this size (e.g. 2G) "
                             "on a loop device, mkfs.xfs -m reflink=1, mounted at the pool"}
    what = "folder on an XFS pool"

    @classmethod
    def available(cls) -> str | None:
        if "xfs" not in filesystems():
            return "this kernel has no xfs filesystem"
        return None if shutil.which("mkfs.xfs") else "xfsprogs is not installed (mkfs.xfs)"

    # -- the pool -----------------------------------------------------------------------
    def _pools(self) -> Path:
        return self.host.state("xfs") / "pools.json"

    def root_of(self, options: dict[str, Any]) -> Path:
        pool = self.host.confine(options.get("pool") or self.host.home / "xfs", param="pool")
        self._mount_known(pool)
        if fs_type(pool) != "xfs":
            if not options.get("image_size"):
                raise BrickFailed(f"pool {pool} is not on an XFS filesystem ({fs_type(pool) or 'missing'}): "
                                  "give image_size to make one on a loop device")
            self._provision(pool, str(options["image_size"]))
        mount = shell.run(["findmnt", "-n", "-o", "TARGET", "-T", str(pool)]).stdout.strip()
        info = shell.run(["xfs_info", mount]).stdout
        if "reflink=1" not in info:
            raise BrickFailed(f"the XFS filesystem of pool {pool} has no reflink (mkfs.xfs -m reflink=1)")
        return pool

    def _provision(self, pool: Path, size: str) -> None:
        if pool.exists() and any(pool.iterdir()):
            raise BrickFailed(f"pool {pool} is not empty: cannot mount a new XFS filesystem there")
        image = self.host.state("xfs") / f"{pool.name}-{hashlib.sha256(str(pool).encode()).hexdigest()[:8]}.img"
        image.parent.mkdir(parents=True, exist_ok=True)
        shell.run(["truncate", "-s", size, str(image)])
        dev = shell.run(["losetup", "-f", "--show", str(image)]).stdout.strip()
        try:
            shell.run(["mkfs.xfs", "-q", "-m", "reflink=1", dev])
            pool.mkdir(parents=True, exist_ok=True)
            shell.run(["mount", dev, str(pool)])
        except BrickFailed:
            shell.run(["losetup", "-d", dev], check=False)
            raise
        write_json(self._pools(), {**read_json(self._pools()), str(pool): str(image)})

    def _mount_known(self, pool: Path) -> None:
        """A pool this driver made is mounted again after a reboot (a new loop device)."""
        image = read_json(self._pools()).get(str(pool))
        if not image or os.path.ismount(pool) or not Path(image).exists():
            return
        attached = shell.run(["losetup", "-j", image], check=False).stdout.split(":", 1)[0].strip()
        dev = attached or shell.run(["losetup", "-f", "--show", image]).stdout.strip()
        shell.run(["mount", dev, str(pool)])

    def release_pool(self, pool: Path) -> None:
        """Unmount a pool this driver made and detach its loop device (its image stays)."""
        image = read_json(self._pools()).get(str(pool))
        shell.run(["umount", str(pool)], check=False)
        if image:
            for line in shell.run(["losetup", "-j", image], check=False).stdout.splitlines():
                shell.run(["losetup", "-d", line.split(":", 1)[0]], check=False)

    # -- TreeDriver's hooks -------------------------------------------------------------
    def open(self, path: Path) -> Volume:
        self._mount_known(path.parent)
        return super().open(path)

    def check_location(self, path: Path) -> None:
        if fs_type(path.parent) != "xfs" and str(path.parent) not in read_json(self._pools()):
            raise BrickFailed(f"volume_url: {path} is not on an XFS pool")

    def is_volume(self, path: Path) -> bool:
        return path.is_dir() and not path.is_symlink()

    def make(self, path: Path) -> None:
        path.mkdir(mode=0o755)

    def freeze(self, src: Path, dst: Path) -> None:
        copy_tree(src, dst, reflink="always")

    def thaw(self, src: Path, dst: Path) -> None:
        shell.run(["cp", "--reflink=always", "-a", str(src), str(dst)])

    def remove(self, path: Path) -> None:
        shutil.rmtree(path)

    def usage(self, vol: Volume) -> Usage:
        st = os.statvfs(vol.path)  # the pool's size: every volume of the pool shares it
        return Usage(disk_usage(vol.path), st.f_blocks * st.f_frsize)
