"""The dir driver: a plain directory ``<home>/volumes/<name>``; snapshots are copies in
``<home>/snapshots/<name>/<id>/`` made with ``cp --reflink=auto`` (instant and sharing
blocks on xfs and btrfs, a full copy elsewhere)."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime import shell
from nebhx.runtime.storage.driver import Volume
from nebhx.runtime.storage.tree import TreeDriver


def copy_tree(src: Path, dst: Path, reflink: str = "auto") -> None:
    """``cp -a`` to a temp name beside ``dst``, then a rename: ``dst`` appears whole or not."""
    tmp = dst.with_name(f".tmp-{dst.name}-{uuid.uuid4().hex[:8]}")
    try:
        shell.run(["cp", f"--reflink={reflink}", "-a", str(src), str(tmp)])
        os.rename(tmp, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class DirDriver(TreeDriver):
    name = "dir"
    summary = "a plain directory under the host's home; snapshots are (reflinked) copies"

    @property
    def root(self) -> Path:
        return self.host.home / "volumes"

    def root_of(self, options: dict[str, Any]) -> Path:
        return self.root

    def check_location(self, path: Path) -> None:
        if path.parent.resolve() != self.root.resolve():
            raise BrickFailed(f"volume_url: {path} is not a dir volume of this host "
                              f"(they live in {self.root})")

    def snapdir(self, vol: Volume) -> Path:
        return self.host.home / "snapshots" / vol.name

    def is_volume(self, path: Path) -> bool:
        return path.is_dir()

    def make(self, path: Path) -> None:
        path.mkdir(mode=0o755)

    def freeze(self, src: Path, dst: Path) -> None:
        copy_tree(src, dst)

    def thaw(self, src: Path, dst: Path) -> None:
        shell.run(["cp", "--reflink=auto", "-a", str(src), str(dst)])

    def remove(self, path: Path) -> None:
        shutil.rmtree(path)

    def known(self) -> list[Path]:
        root = self.root
        return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if root.is_dir() else []
