"""Data volumes and their snapshots, by driver: a plain directory or a btrfs subvolume.

    dir://<host>/<home>/volumes/<name>      snapshots: <home>/snapshots/<name>/<snap>/
    btrfs://<host>/<root>/<name>            snapshots: <root>/.snapshots/<name>/<snap>/

Every snapshot has a sidecar ``<snap>.json`` (when, which kind) next to it, so its data
stays exactly the volume's data. A restore swaps the volume with a copy of the snapshot
in one ``renameat2(RENAME_EXCHANGE)``: a reader sees the old data or the new, never a
gap; the data it replaced is kept as the snapshot ``pre-restore-<ts>``.
"""
from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

from nebhx.bricks.base import BrickFailed
from nebhx.runtime import confine, managed_folders, shell

DRIVERS = ("dir", "btrfs")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
SIZE_RE = re.compile(r"^\d+[KMGTkmgt]?$")
BTRFS_SUBVOL_INO = 256  # every btrfs subvolume root has this inode number
RENAME_EXCHANGE = 2
AT_FDCWD = -100


@dataclass(frozen=True)
class Volume:
    name: str
    driver: str
    path: Path
    changed: bool = False

    def url(self, host: str) -> str:
        return volume_url(self.driver, host, self.path)


@dataclass(frozen=True)
class Snapshot:
    id: str
    volume: str
    path: Path
    created_at: float
    kind: str = "manual"


def volume_url(driver: str, host: str, path: Path | str) -> str:
    return f"{driver}://{host}{Path(path).resolve()}"


def parse_volume_url(url: str) -> tuple[str, str, Path]:
    """``btrfs://h1/mnt/data/pg`` -> ``("btrfs", "h1", Path("/mnt/data/pg"))``."""
    parts = urlsplit(url)
    if parts.scheme not in DRIVERS or not parts.netloc or not parts.path.startswith("/"):
        raise BrickFailed(f"not a volume URL: {url!r} (expected dir://<host>/<path> "
                          "or btrfs://<host>/<path>)")
    return parts.scheme, parts.netloc, Path(parts.path)


def check_name(name: str, what: str = "volume name") -> str:
    if not NAME_RE.match(name or "") or name.startswith(".") or ".." in name:
        raise BrickFailed(f"invalid {what} {name!r}: use letters, digits, '.', '_' and '-', "
                          "starting with a letter or digit")
    return name


def _stamp() -> str:
    t = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(t)) + f"{int(t * 1e6) % 1_000_000:06d}Z"


def _exchange(a: Path, b: Path) -> None:
    """Swap two paths atomically (Linux ``renameat2``; ext4, xfs, btrfs and tmpfs have it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE):
        err = ctypes.get_errno()
        raise BrickFailed(f"cannot swap {a} and {b}: {os.strerror(err)}")


def _is_btrfs_subvolume(path: Path) -> bool:
    try:
        return path.is_dir() and not path.is_symlink() and os.stat(path).st_ino == BTRFS_SUBVOL_INO
    except OSError:
        return False


class Volumes:
    """Create, snapshot, restore and delete data volumes under one host's home.

    Every volume (a btrfs root too) must lie inside ``managed``: the home and the
    folders of ``NEBHX_HOST_MANAGED_PATHS`` by default.
    """

    def __init__(self, home: Path, managed: Iterable[Path] | None = None):
        self.home = Path(home)
        self.dir_root = self.home / "volumes"
        self.dir_snapshots = self.home / "snapshots"
        self.managed = tuple(managed) if managed is not None else managed_folders(self.home)

    # -- volumes ----------------------------------------------------------------------
    def create(self, name: str, driver: str = "dir", *, btrfs_root: Path | str | None = None,
               quota: str | None = None) -> Volume:
        """Create the volume unless it exists; ``changed`` says whether anything was done."""
        check_name(name)
        if driver == "dir":
            if quota:
                raise BrickFailed("a quota needs the btrfs driver; the dir driver has none")
            return self._create_dir(name)
        if driver == "btrfs":
            return self._create_btrfs(name, btrfs_root, quota)
        raise BrickFailed(f"unknown volume driver {driver!r} (known: {', '.join(DRIVERS)})")

    def _create_dir(self, name: str) -> Volume:
        path = self.dir_root / name
        if path.is_dir():
            return Volume(name, "dir", path, changed=False)
        if path.exists() or path.is_symlink():
            raise BrickFailed(f"{path} exists and is not a directory")
        self.dir_root.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o755)
        return Volume(name, "dir", path, changed=True)

    def _create_btrfs(self, name: str, root: Path | str | None, quota: str | None) -> Volume:
        if not root:
            raise BrickFailed("the btrfs driver needs btrfs_root: a directory on a btrfs mount")
        root = confine(root, self.managed, param="btrfs_root")
        fs = shell.run(["stat", "-f", "-c", "%T", str(root)], check=False)
        if fs.returncode != 0 or fs.stdout.strip() != "btrfs":
            raise BrickFailed(f"btrfs_root {root} is not a directory on a btrfs filesystem "
                              f"({(fs.stdout or fs.stderr).strip() or 'missing'})")
        path = root / name
        changed = False
        if path.exists():
            if not _is_btrfs_subvolume(path):
                raise BrickFailed(f"{path} exists and is not a btrfs subvolume")
        else:
            shell.run(["btrfs", "subvolume", "create", str(path)])
            changed = True
        if quota:
            changed = self._set_quota(root, path, quota) or changed
        return Volume(name, "btrfs", path, changed=changed)

    def _set_quota(self, root: Path, path: Path, quota: str) -> bool:
        if not SIZE_RE.match(quota):
            raise BrickFailed(f"invalid quota {quota!r}: a size like 500M or 10G")
        shell.run(["btrfs", "quota", "enable", str(root)])
        before = shell.run(["btrfs", "qgroup", "show", "-rf", "--raw", str(path)]).stdout
        shell.run(["btrfs", "qgroup", "limit", quota, str(path)])
        return before != shell.run(["btrfs", "qgroup", "show", "-rf", "--raw", str(path)]).stdout

    def open(self, ref: str) -> Volume:
        """The existing volume named by a volume URL (or, for dir volumes, by its name)."""
        if "://" in ref:
            driver, _host, path = parse_volume_url(ref)
        else:
            driver, path = "dir", self.dir_root / check_name(ref)
        if driver == "dir" and path.parent.resolve() != self.dir_root.resolve():
            raise BrickFailed(f"volume_url: {path} is not a dir volume of this host "
                              f"(they live in {self.dir_root})")
        # Resolved: a volume that is a symlink to a folder elsewhere is refused here.
        path = confine(path, self.managed, param="volume_url")
        if driver == "dir":
            if path.parent != self.dir_root.resolve():
                raise BrickFailed(f"volume_url: {path} is not a dir volume of this host "
                                  f"(they live in {self.dir_root})")
            if not path.is_dir():
                raise BrickFailed(f"volume {path.name!r} does not exist at {path}")
        elif not _is_btrfs_subvolume(path):
            raise BrickFailed(f"no btrfs subvolume at {path}")
        return Volume(path.name, driver, path)

    def delete(self, ref: str, *, snapshots: bool = False) -> None:
        vol = self.open(ref)
        if snapshots:
            for snap in self.snapshots(ref):
                self.delete_snapshot(ref, snap.id)
        self._remove(vol.driver, vol.path)

    # -- snapshots --------------------------------------------------------------------
    def _snapdir(self, vol: Volume) -> Path:
        if vol.driver == "dir":
            return self.dir_snapshots / vol.name
        return vol.path.parent / ".snapshots" / vol.name

    def snapshot(self, ref: str, name: str | None = None, *, kind: str = "manual") -> Snapshot:
        """A read-only point-in-time copy (btrfs) or a reflinked copy where possible (dir)."""
        vol = self.open(ref)
        snap_id = check_name(name, "snapshot name") if name else _stamp()
        snapdir = self._snapdir(vol)
        target = snapdir / snap_id
        if target.exists():
            raise BrickFailed(f"snapshot {snap_id!r} of volume {vol.name!r} already exists; "
                              "choose another name or leave it empty for a timestamped one")
        snapdir.mkdir(parents=True, exist_ok=True)
        if vol.driver == "btrfs":
            # A btrfs snapshot appears whole or not at all: no temp name needed.
            shell.run(["btrfs", "subvolume", "snapshot", "-r", str(vol.path), str(target)])
        else:
            tmp = snapdir / f".tmp-{snap_id}-{uuid.uuid4().hex[:8]}"
            try:
                shell.run(["cp", "--reflink=auto", "-a", str(vol.path), str(tmp)])
                os.rename(tmp, target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return self._write_meta(vol, snap_id, kind)

    def _write_meta(self, vol: Volume, snap_id: str, kind: str) -> Snapshot:
        snap = Snapshot(snap_id, vol.name, self._snapdir(vol) / snap_id, time.time(), kind)
        meta = {**asdict(snap), "path": str(snap.path), "driver": vol.driver}
        side = snap.path.with_name(snap_id + ".json")
        tmp = side.with_name(f".{snap_id}.json.tmp")
        tmp.write_text(json.dumps(meta, indent=2))
        os.replace(tmp, side)
        return snap

    def snapshots(self, ref: str) -> list[Snapshot]:
        """The volume's snapshots, oldest first."""
        vol = self.open(ref)
        snapdir = self._snapdir(vol)
        found = []
        for path in snapdir.glob("*") if snapdir.is_dir() else []:
            if path.name.startswith(".") or not path.is_dir():
                continue
            meta = _read_json(path.with_name(path.name + ".json"))
            found.append(Snapshot(path.name, vol.name, path,
                                  meta.get("created_at", path.stat().st_mtime),
                                  meta.get("kind", "manual")))
        return sorted(found, key=lambda s: (s.created_at, s.id))

    def get_snapshot(self, ref: str, snap_id: str) -> Snapshot:
        for snap in self.snapshots(ref):
            if snap.id == snap_id:
                return snap
        known = ", ".join(s.id for s in self.snapshots(ref)) or "none"
        raise BrickFailed(f"volume {self.open(ref).name!r} has no snapshot {snap_id!r} "
                          f"(it has: {known})")

    def delete_snapshot(self, ref: str, snap_id: str) -> None:
        vol, snap = self.open(ref), self.get_snapshot(ref, snap_id)
        self._remove(vol.driver, snap.path)
        snap.path.with_name(snap.id + ".json").unlink(missing_ok=True)

    # -- restore ----------------------------------------------------------------------
    def restore(self, ref: str, snap_id: str) -> tuple[Snapshot, Snapshot]:
        """Make the volume's data that of the snapshot; returns (restored, pre_restore).

        The data the volume held before stays as the snapshot ``pre-restore-<ts>``: restore
        it to undo, or mount it beside an old binary to keep the new data.
        """
        vol, snap = self.open(ref), self.get_snapshot(ref, snap_id)
        fresh = vol.path.with_name(f".restore-{vol.name}-{uuid.uuid4().hex[:8]}")
        try:
            if vol.driver == "btrfs":
                shell.run(["btrfs", "subvolume", "snapshot", str(snap.path), str(fresh)])
            else:
                shell.run(["cp", "--reflink=auto", "-a", str(snap.path), str(fresh)])
            _exchange(fresh, vol.path)
        except BaseException:
            if fresh.exists():
                self._remove(vol.driver, fresh)
            raise
        # ``fresh`` now holds the pre-restore data: file it as a snapshot.
        pre_id = "pre-restore-" + _stamp()
        target = self._snapdir(vol) / pre_id
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(fresh, target)
        if vol.driver == "btrfs":
            # Only after the move: btrfs cannot move a read-only subvolume to another folder.
            shell.run(["btrfs", "property", "set", "-ts", str(target), "ro", "true"])
        return snap, self._write_meta(vol, pre_id, "pre-restore")

    def _remove(self, driver: str, path: Path) -> None:
        if driver == "btrfs":
            shell.run(["btrfs", "subvolume", "delete", str(path)])
        else:
            shutil.rmtree(path)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
