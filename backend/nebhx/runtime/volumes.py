"""Data volumes and their snapshots on one host, by driver.

A volume is named by its URL, ``<driver>://<host>/<path>``: ``dir://h1/<home>/volumes/pg``,
``btrfs://h1/mnt/data/pg``, ``overlay://h1/<home>/overlay/pg``. Drivers are loaded by name
from the entry points of group ``nebhx.volumes`` (``nebhx.runtime.storage``): dir and btrfs,
overlay and lvm are built in; a vendor's package adds its own (drivers/nebhx-xfs).

This class does what every driver shares: names and ids, confinement to the host's
managed folders, the meta of each snapshot (when, which kind, which release), retention
(a rule kept per volume and applied after each snapshot; a snapshot a rollout journal
names is never pruned), and the report of every volume the agent sends with its heartbeat
(``view``). Every volume made or opened here is remembered in ``<home>/storage/volumes/``.
"""
from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.paths import confine, managed_folders
from nebhx.runtime.storage import registry
from nebhx.runtime.storage.driver import DriverHost, Retention, Snapshot, Usage, Volume, VolumeDriver
from nebhx.runtime.storage.fs import read_json, stamp, write_json

__all__ = ["Volumes", "Volume", "Snapshot", "Usage", "Retention", "volume_url", "parse_volume_url", "check_name"]

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
log = logging.getLogger("nebhx.volumes")


def volume_url(driver: str, host: str, path: Path | str) -> str:
    return f"{driver}://{host}{Path(path).resolve()}"


def parse_volume_url(url: str) -> tuple[str, str, Path]:
    """``btrfs://h1/mnt/data/pg`` -> ``("btrfs", "h1", Path("/mnt/data/pg"))``."""
    parts = urlsplit(url)
    if parts.scheme not in registry.names() or not parts.netloc or not parts.path.startswith("/"):
        raise BrickFailed(f"not a volume URL: {url!r} (expected <driver>://<host>/<path>; "
                          f"drivers installed: {', '.join(registry.names())})")
    return parts.scheme, parts.netloc, Path(parts.path)


def check_name(name: str, what: str = "volume name") -> str:
    if not NAME_RE.match(name or "") or name.startswith(".") or ".." in name:
        raise BrickFailed(f"invalid {what} {name!r}: use letters, digits, '.', '_' and '-', "
                          "starting with a letter or digit")
    return name


class Volumes:
    """Create, snapshot, restore, prune and delete data volumes of one host.

    Every volume (a btrfs root too) must lie inside ``managed``: the home and the
    folders of ``NEBHX_HOST_MANAGED_PATHS`` by default.
    """

    def __init__(self, home: Path, managed: Iterable[Path] | None = None, *, host: str = ""):
        self.home = Path(home)
        self.dir_root = self.home / "volumes"
        self.managed = tuple(managed) if managed is not None else managed_folders(self.home)
        self._host = DriverHost(host, self.home, self.managed)
        self._drivers: dict[str, VolumeDriver] = {}

    def driver(self, name: str) -> VolumeDriver:
        if name not in self._drivers:
            self._drivers[name] = registry.driver_class(name)(self._host)
        return self._drivers[name]

    # -- volumes ----------------------------------------------------------------------
    def create(self, name: str, driver: str = "dir", *, btrfs_root: Path | str | None = None,
               quota: str | None = None, options: dict[str, Any] | None = None,
               retention: Retention | None = None) -> Volume:
        """Create the volume unless it exists; ``changed`` says whether anything was done.
        ``retention`` (when given) becomes the volume's rule, applied after each snapshot."""
        check_name(name)
        drv = self.driver(driver)
        opts = {k: v for k, v in (options or {}).items() if v not in (None, "")}
        if btrfs_root:
            opts.setdefault("root", str(btrfs_root))
        if quota:
            opts["quota"] = quota
        if unknown := sorted(set(opts) - set(drv.options)):
            takes = ", ".join(drv.options) or "none"
            raise BrickFailed(f"the {driver} volume driver has no option {unknown[0]!r} (it takes: {takes})")
        vol = drv.create(name, opts)
        self._remember(vol, retention)
        self._changed()
        return vol

    def open(self, ref: str) -> Volume:
        """The existing volume named by a volume URL (or, for dir volumes, by its name)."""
        if "://" in ref:
            driver, _host, path = parse_volume_url(ref)
        else:
            driver, path = "dir", self.dir_root / check_name(ref)
        drv = self.driver(driver)
        check = getattr(drv, "check_location", None)
        if check is not None:  # a clearer message than "outside the managed folders"
            check(path)
        # Resolved: a volume that is a symlink to a folder elsewhere is refused here.
        vol = drv.open(confine(path, self.managed, param="volume_url"))
        self._remember(vol, None)
        return vol

    def delete(self, ref: str, *, snapshots: bool = False) -> None:
        vol = self.open(ref)
        if snapshots:
            for snap in self.snapshots(ref):
                self.driver(vol.driver).delete_snapshot(vol, snap)
        self.driver(vol.driver).delete(vol)
        self._record_path(vol).unlink(missing_ok=True)
        self._changed()

    def usage(self, ref: str) -> Usage:
        vol = self.open(ref)
        return self.driver(vol.driver).usage(vol)

    # -- snapshots --------------------------------------------------------------------
    def snapshot(self, ref: str, name: str | None = None, *, kind: str = "manual",
                 release: str | None = None) -> Snapshot:
        """A point-in-time copy, as the volume's driver makes it; then the volume's retention
        rule, if it has one, prunes the older ones."""
        vol = self.open(ref)
        drv = self.driver(vol.driver)
        snap_id = check_name(name, "snapshot name") if name else stamp()
        if any(s.id == snap_id for s in drv.snapshots(vol)):
            raise BrickFailed(f"snapshot {snap_id!r} of volume {vol.name!r} already exists; "
                              "choose another name or leave it empty for a timestamped one")
        snap = drv.snapshot(vol, snap_id, {"created_at": time.time(), "kind": kind, "release": release})
        rule = self.retention(vol)
        if not rule.empty:
            try:
                drv.prune(vol, rule, protected={snap.id, *self.protected()})
            except BrickFailed as exc:  # the snapshot is taken; a failed prune must not undo that
                log.warning("pruning the snapshots of %s failed: %s", vol.path, exc)
        self._changed()
        return snap

    def snapshots(self, ref: str) -> list[Snapshot]:
        """The volume's snapshots, oldest first."""
        vol = self.open(ref)
        return sorted(self.driver(vol.driver).snapshots(vol), key=lambda s: (s.created_at, s.id))

    def get_snapshot(self, ref: str, snap_id: str) -> Snapshot:
        snaps = self.snapshots(ref)
        for snap in snaps:
            if snap.id == snap_id:
                return snap
        known = ", ".join(s.id for s in snaps) or "none"
        raise BrickFailed(f"volume {self.open(ref).name!r} has no snapshot {snap_id!r} "
                          f"(it has: {known})")

    def delete_snapshot(self, ref: str, snap_id: str) -> Snapshot:
        vol, snap = self.open(ref), self.get_snapshot(ref, snap_id)
        self.driver(vol.driver).delete_snapshot(vol, snap)
        self._changed()
        return snap

    def restore(self, ref: str, snap_id: str) -> tuple[Snapshot, Snapshot]:
        """Make the volume's data that of the snapshot; returns (restored, pre_restore).

        The data the volume held before stays as the snapshot ``pre-restore-<ts>``: restore
        it to undo, or mount it beside an old binary to keep the new data.
        """
        vol, snap = self.open(ref), self.get_snapshot(ref, snap_id)
        pre_id = "pre-restore-" + stamp()
        pre = self.driver(vol.driver).restore(vol, snap, pre_id, {"created_at": time.time(),
                                                                    "kind": "pre-restore"})
        self._changed()
        return snap, pre

    def prune(self, ref: str, retention: Retention | None = None) -> list[Snapshot]:
        """Remove the snapshots the rule (default: the volume's own) does not keep."""
        vol = self.open(ref)
        rule = retention if retention is not None else self.retention(vol)
        pruned = self.driver(vol.driver).prune(vol, rule, protected=self.protected())
        self._changed()
        return pruned

    def protected(self) -> set[str]:
        """Snapshots a rollout journal names (its pre-rollout or pre-restore data)."""
        ids = set()
        for path in self.home.glob("services/*/rollout/*.json"):
            state = read_json(path)
            ids.add((state.get("snapshot") or {}).get("id"))
            ids.add((state.get("restored") or {}).get("pre_restore"))
        return {i for i in ids if isinstance(i, str)}

    # -- what the host remembers, and its report ----------------------------------------
    @property
    def _marker(self) -> Path:
        return self.home / "storage" / "changed"

    def _changed(self) -> None:
        """Touch the marker the agent watches: its next heartbeat reports the volumes again."""
        self._marker.parent.mkdir(parents=True, exist_ok=True)
        self._marker.write_text(str(time.time()))

    def changed_at(self) -> float:
        """When a volume or snapshot of this host last changed through this class (0: never)."""
        try:
            return self._marker.stat().st_mtime
        except OSError:
            return 0.0

    def _record_path(self, vol: Volume) -> Path:
        digest = hashlib.sha256(str(vol.path).encode()).hexdigest()[:10]
        return self.home / "storage" / "volumes" / f"{vol.driver}.{vol.name}.{digest}.json"

    def _remember(self, vol: Volume, retention: Retention | None) -> None:
        path = self._record_path(vol)
        old = read_json(path)
        rule = retention.as_dict() if retention is not None else old.get("retention")
        new = {"name": vol.name, "driver": vol.driver, "path": str(vol.path), "retention": rule}
        if new != {k: old.get(k) for k in new}:
            write_json(path, {**new, "created_at": old.get("created_at", time.time())})

    def retention(self, vol: Volume) -> Retention:
        rule = read_json(self._record_path(vol)).get("retention") or {}
        return Retention(rule.get("keep_last"), rule.get("keep_days"))

    def known(self) -> list[tuple[str, Path]]:
        """(driver, path) of every volume remembered or found by its driver."""
        found = {(rec.get("driver"), rec.get("path")) for rec in map(read_json, self.home.glob("storage/volumes/*.json"))}
        found |= {("dir", str(p)) for p in self.driver("dir").known()}
        return sorted((d, Path(p)) for d, p in found if isinstance(d, str) and isinstance(p, str))

    def view(self, host: str) -> list[dict[str, Any]]:
        """Every volume of the host with its usage, rule and snapshots (the agent's report);
        a volume that cannot be read is listed with the reason, never raised."""
        out = []
        for driver, path in self.known():
            row: dict[str, Any] = {"name": path.name, "driver": driver, "path": str(path),
                                   "url": volume_url(driver, host, path)}
            try:
                vol = self.driver(driver).open(path)
                usage = self.driver(driver).usage(vol)
                row.update(used=usage.used, capacity=usage.capacity,
                           retention=self.retention(vol).as_dict(),
                           snapshots=[{k: v for k, v in asdict(s).items() if k not in ("volume", "path")}
                                      | {"path": str(s.path)} for s in self.snapshots(row["url"])])
            except (BrickFailed, OSError) as exc:
                row["error"] = str(exc)
            out.append(row)
        return out
