"""The btrfs driver: a subvolume ``<root>/<name>`` on a btrfs mount; snapshots are instant
read-only subvolume snapshots in ``<root>/.snapshots/<name>/<id>``; ``quota`` sets a qgroup
limit."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime import shell
from nebhx.runtime.storage.driver import Usage, Volume
from nebhx.runtime.storage.fs import disk_usage, filesystems, fs_type
from nebhx.runtime.storage.tree import TreeDriver

SIZE_RE = re.compile(r"^\d+[KMGTkmgt]?$")
SUBVOL_INO = 256  # every btrfs subvolume root has this inode number


def is_subvolume(path: Path) -> bool:
    try:
        return path.is_dir() and not path.is_symlink() and os.stat(path).st_ino == SUBVOL_INO
    except OSError:
        return False


class BtrfsDriver(TreeDriver):
    name = "btrfs"
    summary = "a btrfs subvolume; snapshots are instant read-only subvolume snapshots"
    options = {"root": "a directory on a btrfs mount, inside the host's managed folders "
                       "(the brick's btrfs_root)",
               "quota": "a qgroup size limit, e.g. 500M or 10G"}
    what = "btrfs subvolume"

    @classmethod
    def available(cls) -> str | None:
        if "btrfs" not in filesystems():
            return "this kernel has no btrfs filesystem"
        return None if shutil.which("btrfs") else "btrfs-progs is not installed (the btrfs command)"

    def root_of(self, options: dict[str, Any]) -> Path:
        if not options.get("root"):
            raise BrickFailed("the btrfs driver needs btrfs_root (option root): a directory on a btrfs mount")
        root = self.host.confine(options["root"], param="btrfs_root")
        if fs_type(root) != "btrfs":
            raise BrickFailed(f"btrfs_root {root} is not a directory on a btrfs filesystem "
                              f"({fs_type(root) or 'missing'})")
        return root

    def is_volume(self, path: Path) -> bool:
        return is_subvolume(path)

    def make(self, path: Path) -> None:
        shell.run(["btrfs", "subvolume", "create", str(path)])

    def freeze(self, src: Path, dst: Path) -> None:
        shell.run(["btrfs", "subvolume", "snapshot", "-r", str(src), str(dst)])

    def thaw(self, src: Path, dst: Path) -> None:
        shell.run(["btrfs", "subvolume", "snapshot", str(src), str(dst)])

    def settle(self, path: Path) -> None:
        # Only after the move: btrfs cannot move a read-only subvolume to another folder.
        shell.run(["btrfs", "property", "set", "-ts", str(path), "ro", "true"])

    def remove(self, path: Path) -> None:
        shell.run(["btrfs", "subvolume", "delete", str(path)])

    def after_create(self, vol: Volume, options: dict[str, Any]) -> bool:
        quota = options.get("quota")
        if not quota:
            return False
        if not SIZE_RE.match(str(quota)):
            raise BrickFailed(f"invalid quota {quota!r}: a size like 500M or 10G")
        shell.run(["btrfs", "quota", "enable", str(vol.path.parent)])
        before = self._qgroup(vol.path)
        shell.run(["btrfs", "qgroup", "limit", str(quota), str(vol.path)])
        return before != self._qgroup(vol.path)

    def _qgroup(self, path: Path) -> str:
        return shell.run(["btrfs", "qgroup", "show", "-rf", "--raw", str(path)], check=False).stdout

    def usage(self, vol: Volume) -> Usage:
        # The last line of `qgroup show -rf --raw` is "qgroupid rfer excl max_rfer" (or none).
        fields = (self._qgroup(vol.path).strip().splitlines() or [""])[-1].split()
        limit = int(fields[3]) if len(fields) == 4 and fields[3].isdigit() else None
        return Usage(disk_usage(vol.path), limit)
