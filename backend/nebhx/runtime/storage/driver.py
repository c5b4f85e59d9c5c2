"""The data-driver interface: what every volume driver implements (docs/storage-drivers.md).

A driver keeps volumes of one kind on one host (a directory, a btrfs subvolume, an overlay
mount, an LVM thin volume, a volume on a storage array) and their snapshots. The host's
``Volumes`` (``nebhx.runtime.volumes``) does what is common to all of them: names, volume
URLs, confinement to the host's managed folders, snapshot metadata, retention, the report
the agent sends. A driver only does what its storage does.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterable


@dataclass(frozen=True)
class Volume:
    name: str
    driver: str
    path: Path
    changed: bool = False

    def url(self, host: str) -> str:
        return f"{self.driver}://{host}{Path(self.path).resolve()}"


@dataclass(frozen=True)
class Snapshot:
    """One snapshot. ``path`` is where its data can be read on the host (a directory, a
    frozen layer, a block device); ``size`` the bytes it holds as the driver counts them."""
    id: str
    volume: str
    path: Path
    created_at: float
    kind: str = "manual"
    size: int | None = None
    release: str | None = None


@dataclass(frozen=True)
class Usage:
    """Bytes the volume's data takes now, and its limit when it has one (quota, LV size)."""
    used: int
    capacity: int | None = None


@dataclass(frozen=True)
class Retention:
    """Which snapshots to keep: the newest ``keep_last``, and any younger than ``keep_days``.

    With neither set nothing is pruned. Snapshots named in ``protected`` (a rollout that may
    still restore them) are always kept.
    """
    keep_last: int | None = None
    keep_days: float | None = None

    def __post_init__(self) -> None:
        if self.keep_last is not None and self.keep_last < 0:
            raise ValueError("keep_last must be 0 or more")
        if self.keep_days is not None and self.keep_days < 0:
            raise ValueError("keep_days must be 0 or more")

    @property
    def empty(self) -> bool:
        return self.keep_last is None and self.keep_days is None

    def doomed(self, snaps: Iterable[Snapshot], *, protected: Iterable[str] = (),
               now: float | None = None) -> list[Snapshot]:
        """The snapshots this rule removes, oldest first."""
        if self.empty:
            return []
        newest = sorted(snaps, key=lambda s: (s.created_at, s.id), reverse=True)
        now = time.time() if now is None else now
        keep = set(protected)
        if self.keep_last is not None:
            keep.update(s.id for s in newest[:self.keep_last])
        if self.keep_days is not None:
            keep.update(s.id for s in newest if now - s.created_at <= self.keep_days * 86400)
        return [s for s in reversed(newest) if s.id not in keep]

    def as_dict(self) -> dict[str, Any]:
        return {"keep_last": self.keep_last, "keep_days": self.keep_days}


@dataclass(frozen=True)
class DriverHost:
    """What a driver gets from the host: its home, the folders it may write in, and a
    folder of its own for records (``<home>/storage/<driver>``)."""
    name: str
    home: Path
    managed: tuple[Path, ...] = field(default=())

    def confine(self, path: Path | str, *, param: str) -> Path:
        from nebhx.runtime.paths import confine
        return confine(path, self.managed, param=param)

    def state(self, driver: str) -> Path:
        return self.home / "storage" / driver


class VolumeDriver(ABC):
    """One kind of volume. Subclass it, set ``name`` (the URL scheme and the entry-point name
    in group ``nebhx.volumes``), and implement the abstract methods.

    Every method that fails raises ``BrickFailed`` with a message naming what and where; the
    node that called it fails with that message. Paths handed to a driver are already
    confined to the host's managed folders; paths a driver derives from ``options`` must go
    through ``self.host.confine``.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    # option -> what it means; create() gets only these (others are refused before it runs).
    options: ClassVar[dict[str, str]] = {}

    def __init__(self, host: DriverHost):
        self.host = host

    @classmethod
    def available(cls) -> str | None:
        """None when this machine can run the driver, else why not (shown by `nebhx volumes drivers`)."""
        return None

    # -- volumes ------------------------------------------------------------------------
    @abstractmethod
    def create(self, name: str, options: dict[str, Any]) -> Volume:
        """Create the volume unless it exists (``changed`` says whether anything was done)."""

    @abstractmethod
    def open(self, path: Path) -> Volume:
        """The existing volume at ``path`` (from its URL); fail when there is none."""

    @abstractmethod
    def delete(self, vol: Volume) -> None:
        """Remove the volume; its snapshots are removed before, by ``delete_snapshot``."""

    @abstractmethod
    def usage(self, vol: Volume) -> Usage:
        """How many bytes the volume's data takes, and its limit if it has one."""

    def known(self) -> list[Path]:
        """Volumes this driver finds by itself (the host also remembers each one it made)."""
        return []

    # -- snapshots ----------------------------------------------------------------------
    @abstractmethod
    def snapshot(self, vol: Volume, snap_id: str, meta: dict[str, Any]) -> Snapshot:
        """Take snapshot ``snap_id`` (free, checked) and keep ``meta`` with it (created_at,
        kind, release); a snapshot appears whole or not at all."""

    @abstractmethod
    def snapshots(self, vol: Volume) -> list[Snapshot]:
        """The volume's snapshots, with the meta kept at ``snapshot``."""

    @abstractmethod
    def restore(self, vol: Volume, snap: Snapshot, pre_id: str, meta: dict[str, Any]) -> Snapshot:
        """Make the volume's data that of ``snap``, at once for readers; the data it held is
        kept as snapshot ``pre_id`` (with ``meta``), which is returned. ``snap`` stays."""

    @abstractmethod
    def delete_snapshot(self, vol: Volume, snap: Snapshot) -> None:
        """Remove one snapshot; the volume and the other snapshots are unchanged."""

    def prune(self, vol: Volume, retention: Retention, *, protected: Iterable[str] = ()) -> list[Snapshot]:
        """Remove the snapshots ``retention`` does not keep; returns them. An array with its
        own retention may do it in one call."""
        doomed = retention.doomed(self.snapshots(vol), protected=protected)
        for snap in doomed:
            self.delete_snapshot(vol, snap)
        return doomed
