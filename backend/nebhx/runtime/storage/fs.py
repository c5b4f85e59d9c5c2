"""Small filesystem tools the drivers share (and a vendor's driver may use)."""
from __future__ import annotations

import ctypes
import json
import os
import time
from pathlib import Path
from typing import Any

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime import shell
from nebhx.runtime.storage.driver import Snapshot

RENAME_EXCHANGE = 2
AT_FDCWD = -100


def stamp() -> str:
    """A sortable UTC time to the microsecond: a snapshot's default id."""
    t = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(t)) + f"{int(t * 1e6) % 1_000_000:06d}Z"


def exchange(a: Path, b: Path) -> None:
    """Swap two paths atomically (Linux ``renameat2``; ext4, xfs, btrfs and tmpfs have it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE):
        err = ctypes.get_errno()
        raise BrickFailed(f"cannot swap {a} and {b}: {os.strerror(err)}")


def disk_usage(path: Path) -> int:
    """Bytes of the blocks under ``path``, as ``du`` counts them (each hard link once; blocks
    a copy-on-write filesystem shares are counted in every tree that holds them)."""
    total, seen = 0, set()
    for root, dirs, files in os.walk(path, onerror=lambda _e: None):
        for name in (*dirs, *files, "."):
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def fs_type(path: Path) -> str:
    """The filesystem type of ``path`` (``btrfs``, ``xfs``, ``overlayfs``...), or ''."""
    proc = shell.run(["stat", "-f", "-c", "%T", str(path)], check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def filesystems() -> set[str]:
    """The filesystem types this kernel has (``/proc/filesystems``)."""
    try:
        return {line.split()[-1] for line in Path("/proc/filesystems").read_text().splitlines() if line.strip()}
    except OSError:
        return set()


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically (a temp name, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def snapshot_of(meta: dict[str, Any], *, snap_id: str, volume: str, path: Path) -> Snapshot:
    """A ``Snapshot`` from the meta kept beside it (a missing key gets its default)."""
    created = meta.get("created_at")
    if not isinstance(created, (int, float)):
        try:
            created = path.stat().st_mtime
        except OSError:
            created = 0.0
    return Snapshot(snap_id, volume, path, float(created), str(meta.get("kind") or "manual"),
                    meta.get("size"), meta.get("release"))


def sidecar(path: Path) -> Path:
    """``<snap>.json`` beside a snapshot folder: its meta, apart from its data."""
    return path.with_name(path.name + ".json")


def umount(path: Path, why: str) -> None:
    """Unmount a volume's mount, or fail naming it when a process keeps it busy."""
    proc = shell.run(["umount", str(path)], check=False)
    if proc.returncode != 0 and os.path.ismount(path):
        raise BrickFailed(f"volume {path.name!r} is in use ({proc.stderr.strip()}): stop the service "
                          f"using {path} to {why}")
