"""Drivers whose volumes are folders and whose snapshots are frozen copies of them.

    <root>/<volume>/                 the volume
    <snapshots>/<volume>/<id>/       a snapshot, <id>.json beside it (its meta)

A subclass says how a folder is made, copied (frozen or writable) and removed; the dir,
btrfs and the XFS reflink driver (drivers/nebhx-xfs) are such drivers. A restore makes a
writable copy of the snapshot beside the volume and swaps the two in one
``renameat2(RENAME_EXCHANGE)``: a reader sees the old data or the new, never a gap.
"""
from __future__ import annotations

import os
import uuid
from abc import abstractmethod
from pathlib import Path
from typing import Any

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.storage.driver import Snapshot, Usage, Volume, VolumeDriver
from nebhx.runtime.storage.fs import disk_usage, exchange, read_json, sidecar, snapshot_of, write_json


class TreeDriver(VolumeDriver):
    what = "directory"  # what a volume of this driver is, in error messages

    @abstractmethod
    def root_of(self, options: dict[str, Any]) -> Path:
        """The folder new volumes go in (confined)."""

    @abstractmethod
    def is_volume(self, path: Path) -> bool:
        """Whether ``path`` is a volume of this driver (any other thing there is a clash)."""

    @abstractmethod
    def make(self, path: Path) -> None:
        """Make an empty volume at ``path``."""

    @abstractmethod
    def freeze(self, src: Path, dst: Path) -> None:
        """A point-in-time copy of ``src`` at ``dst``, appearing whole or not at all."""

    @abstractmethod
    def thaw(self, src: Path, dst: Path) -> None:
        """A writable copy of snapshot ``src`` at ``dst`` (a free name beside the volume)."""

    @abstractmethod
    def remove(self, path: Path) -> None:
        """Remove a volume, a snapshot or a half-made copy."""

    def snapdir(self, vol: Volume) -> Path:
        return vol.path.parent / ".snapshots" / vol.name

    def settle(self, path: Path) -> None:
        """Called on a snapshot moved into place by a restore (btrfs marks it read-only)."""

    def after_create(self, vol: Volume, options: dict[str, Any]) -> bool:
        """Apply options to a volume (new or not); True when that changed anything."""
        return False

    def check_location(self, path: Path) -> None:
        """Refuse a path that is not where this driver keeps volumes (the dir driver does)."""

    # -- the interface --------------------------------------------------------------------
    def create(self, name: str, options: dict[str, Any]) -> Volume:
        path = self.root_of(options) / name
        changed = False
        if path.exists() or path.is_symlink():
            if path.is_symlink() or not self.is_volume(path):
                raise BrickFailed(f"{path} exists and is not a {self.what}")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.make(path)
            changed = True
        vol = Volume(name, self.name, path, changed)
        if self.after_create(vol, options):
            vol = Volume(name, self.name, path, True)
        return vol

    def open(self, path: Path) -> Volume:
        self.check_location(path)
        if not path.exists():
            raise BrickFailed(f"volume {path.name!r} does not exist at {path}")
        if not self.is_volume(path):
            raise BrickFailed(f"{path} is not a {self.what}: no {self.name} volume there")
        return Volume(path.name, self.name, path)

    def delete(self, vol: Volume) -> None:
        self.remove(vol.path)

    def usage(self, vol: Volume) -> Usage:
        return Usage(disk_usage(vol.path))

    def snapshot(self, vol: Volume, snap_id: str, meta: dict[str, Any]) -> Snapshot:
        target = self.snapdir(vol) / snap_id
        target.parent.mkdir(parents=True, exist_ok=True)
        self.freeze(vol.path, target)
        return self._file(vol, target, meta)

    def _file(self, vol: Volume, target: Path, meta: dict[str, Any]) -> Snapshot:
        meta = {**meta, "size": disk_usage(target), "driver": self.name, "path": str(target)}
        write_json(sidecar(target), meta)
        return snapshot_of(meta, snap_id=target.name, volume=vol.name, path=target)

    def snapshots(self, vol: Volume) -> list[Snapshot]:
        snapdir = self.snapdir(vol)
        if not snapdir.is_dir():
            return []
        return [snapshot_of(read_json(sidecar(p)), snap_id=p.name, volume=vol.name, path=p)
                for p in snapdir.iterdir() if not p.name.startswith(".") and p.is_dir()]

    def restore(self, vol: Volume, snap: Snapshot, pre_id: str, meta: dict[str, Any]) -> Snapshot:
        fresh = vol.path.with_name(f".restore-{vol.name}-{uuid.uuid4().hex[:8]}")
        try:
            self.thaw(snap.path, fresh)
            exchange(fresh, vol.path)
        except BaseException:
            if fresh.exists():
                self.remove(fresh)
            raise
        # ``fresh`` now holds the data from before: file it as a snapshot.
        target = self.snapdir(vol) / pre_id
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(fresh, target)
        self.settle(target)
        return self._file(vol, target, meta)

    def delete_snapshot(self, vol: Volume, snap: Snapshot) -> None:
        self.remove(snap.path)
        sidecar(snap.path).unlink(missing_ok=True)
