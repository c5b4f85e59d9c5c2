"""The lvm driver: a thin logical volume with a filesystem, mounted at ``<root>/<name>``.

    volume     lvcreate --thin --virtualsize SIZE --name nebhx-<name> VG/POOL; mkfs; mount
    snapshot   fsfreeze; lvcreate --snapshot --name nebhx-<name>-s<hash> VG/nebhx-<name>; unfreeze
    restore    umount; snapshot the volume (pre-restore); lvconvert --merge VG/<snapshot LV>;
               snapshot the volume again under the merged snapshot's name (a merge consumes
               the snapshot; the volume now holds exactly its data); mount
    delete     lvremove

Snapshot LVs carry the tags ``nebhx.volume=<name>`` and ``nebhx.snapshot=<id>``; their meta
(kind, release, time) is a file in ``<home>/storage/lvm/``. The thin pool is the operator's
(``lvcreate --type thin-pool``); the driver takes its VG and name. It needs device-mapper:
this project's CI kernel has none, so its tests (tests/storage, marker ``devmapper``) are
deselected and reported there as not run.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime import shell
from nebhx.runtime.storage.driver import Snapshot, Usage, Volume, VolumeDriver
from nebhx.runtime.storage.fs import umount, read_json, snapshot_of, write_json

LVM_NAME = re.compile(r"^[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,63}$")
SIZE_RE = re.compile(r"^\d+(\.\d+)?[KMGTkmgt]$")
ENV = {"LVM_SUPPRESS_FD_WARNINGS": "1", "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}


def lvm(*args: str) -> str:
    return shell.run(list(args), env=ENV).stdout


class LvmDriver(VolumeDriver):
    name = "lvm"
    summary = "an LVM thin volume with a filesystem; snapshots are thin snapshots, restore merges"
    options = {"vg": "the volume group (required)", "pool": "its thin pool LV (required)",
               "size": "the volume's virtual size, e.g. 10G (default 1G)",
               "fs": "ext4 (default) or xfs", "root": "where volumes are mounted (default <home>/lvm)"}

    @classmethod
    def available(cls) -> str | None:
        return device_mapper_missing() or (None if shutil.which("lvcreate") else "lvm2 is not installed (lvcreate)")

    def _record_file(self, path: Path) -> Path:
        return self.host.state("lvm") / "volumes" / (hashlib.sha256(str(path).encode()).hexdigest()[:16] + ".json")

    def _meta_file(self, vol: Volume, snap_id: str) -> Path:
        return self.host.state("lvm") / "snapshots" / vol.name / f"{snap_id}.json"

    def _lv(self, path: Path) -> tuple[str, str]:
        rec = read_json(self._record_file(path))
        if not rec.get("vg"):
            raise BrickFailed(f"volume {path.name!r} does not exist at {path} (no lvm volume there)")
        return rec["vg"], rec["lv"]

    # -- volumes ------------------------------------------------------------------------
    def create(self, name: str, options: dict[str, Any]) -> Volume:
        vg, pool, size, fs = (options.get(k) for k in ("vg", "pool", "size", "fs"))
        for key, value in (("vg", vg), ("pool", pool)):
            if not value or not LVM_NAME.match(str(value)):
                raise BrickFailed(f"the lvm driver needs option {key}: an LVM name (got {value!r})")
        size, fs = str(size or "1G"), fs or "ext4"
        if not SIZE_RE.match(size) or fs not in ("ext4", "xfs"):
            raise BrickFailed(f"lvm volume {name!r}: size must be like 10G (got {size!r}), fs ext4 or xfs (got {fs!r})")
        path = self.host.confine(options.get("root") or self.host.home / "lvm", param="root") / name
        if self._record_file(path).exists():
            return Volume(name, self.name, self.open(path).path, changed=False)
        lv = f"nebhx-{name}"
        lvm("lvcreate", "-y", "--thin", "--virtualsize", size, "--name", lv, "--addtag",
            f"nebhx.volume={name}", f"{vg}/{pool}")
        shell.run([f"mkfs.{fs}", "-q", f"/dev/{vg}/{lv}"])
        path.mkdir(parents=True, exist_ok=True)
        write_json(self._record_file(path), {"vg": vg, "lv": lv, "fs": fs, "path": str(path)})
        shell.run(["mount", f"/dev/{vg}/{lv}", str(path)])
        return Volume(name, self.name, path, changed=True)

    def open(self, path: Path) -> Volume:
        vg, lv = self._lv(path)
        if not os.path.ismount(path):  # after a reboot: activate and mount again
            lvm("lvchange", "-ay", "-K", f"{vg}/{lv}")
            shell.run(["mount", f"/dev/{vg}/{lv}", str(path)])
        return Volume(path.name, self.name, path)

    def delete(self, vol: Volume) -> None:
        vg, lv = self._lv(vol.path)
        umount(vol.path, "delete it")
        lvm("lvremove", "-y", f"{vg}/{lv}")
        self._record_file(vol.path).unlink()
        vol.path.rmdir()

    def usage(self, vol: Volume) -> Usage:
        st = os.statvfs(vol.path)
        return Usage((st.f_blocks - st.f_bfree) * st.f_frsize, st.f_blocks * st.f_frsize)

    # -- snapshots ----------------------------------------------------------------------
    def _snap_lv(self, lv: str, snap_id: str) -> str:
        return f"{lv}-s{hashlib.sha256(snap_id.encode()).hexdigest()[:10]}"

    def _make_snapshot(self, vg: str, lv: str, vol: Volume, snap_id: str) -> None:
        lvm("lvcreate", "-y", "--snapshot", "--setactivationskip", "n", "--name", self._snap_lv(lv, snap_id),
            "--addtag", f"nebhx.volume={vol.name}", "--addtag", f"nebhx.snapshot={snap_id}", f"{vg}/{lv}")

    def snapshot(self, vol: Volume, snap_id: str, meta: dict[str, Any]) -> Snapshot:
        vg, lv = self._lv(vol.path)
        # A frozen filesystem has its journal flushed: the snapshot is consistent on disk.
        shell.run(["fsfreeze", "--freeze", str(vol.path)])
        try:
            self._make_snapshot(vg, lv, vol, snap_id)
        finally:
            shell.run(["fsfreeze", "--unfreeze", str(vol.path)])
        return self._file(vol, vg, lv, snap_id, meta)

    def _file(self, vol: Volume, vg: str, lv: str, snap_id: str, meta: dict[str, Any]) -> Snapshot:
        row = self._lvs(vg, vol.name).get(snap_id, {})
        meta = {**meta, "size": _mapped_bytes(row), "driver": self.name}
        write_json(self._meta_file(vol, snap_id), meta)
        return snapshot_of(meta, snap_id=snap_id, volume=vol.name, path=Path(f"/dev/{vg}/{self._snap_lv(lv, snap_id)}"))

    def _lvs(self, vg: str, volume: str) -> dict[str, dict[str, str]]:
        """This volume's snapshot LVs by snapshot id (from their tags)."""
        out = lvm("lvs", "--reportformat", "json", "--units", "b", "--nosuffix",
                  "-o", "lv_name,lv_tags,lv_size,data_percent", vg)
        found = {}
        for row in json.loads(out)["report"][0]["lv"]:
            tags = dict(t.split("=", 1) for t in row["lv_tags"].split(",") if "=" in t)
            if tags.get("nebhx.volume") == volume and tags.get("nebhx.snapshot"):
                found[tags["nebhx.snapshot"]] = row
        return found

    def snapshots(self, vol: Volume) -> list[Snapshot]:
        vg, _lv = self._lv(vol.path)
        return [snapshot_of(read_json(self._meta_file(vol, sid)), snap_id=sid, volume=vol.name,
                            path=Path(f"/dev/{vg}/{row['lv_name']}")) for sid, row in self._lvs(vg, vol.name).items()]

    def restore(self, vol: Volume, snap: Snapshot, pre_id: str, meta: dict[str, Any]) -> Snapshot:
        vg, lv = self._lv(vol.path)
        umount(vol.path, "restore a snapshot into it")
        try:
            self._make_snapshot(vg, lv, vol, pre_id)
            pre = self._file(vol, vg, lv, pre_id, meta)
            lvm("lvconvert", "-y", "--merge", f"{vg}/{self._snap_lv(lv, snap.id)}")
            # A merge into an origin that was open waits for its next activation: do it now.
            lvm("lvchange", "-an", f"{vg}/{lv}")
            lvm("lvchange", "-ay", "-K", f"{vg}/{lv}")
            self._make_snapshot(vg, lv, vol, snap.id)  # the merge consumed it; same data, same name
        finally:
            shell.run(["mount", f"/dev/{vg}/{lv}", str(vol.path)])
        return pre

    def delete_snapshot(self, vol: Volume, snap: Snapshot) -> None:
        lvm("lvremove", "-y", str(snap.path).removeprefix("/dev/"))
        self._meta_file(vol, snap.id).unlink(missing_ok=True)


def device_mapper_missing() -> str | None:
    """Why this kernel cannot make LVM volumes, or None. ``/dev/mapper/control`` alone is not
    enough: LVM's tools make that node even where the kernel has no device-mapper."""
    try:
        misc = Path("/proc/misc").read_text()
    except OSError:
        misc = ""
    if "device-mapper" not in misc or not Path("/dev/mapper/control").exists():
        return "no device-mapper in this kernel (not in /proc/misc, or no /dev/mapper/control)"
    return None


def _mapped_bytes(row: dict[str, str]) -> int | None:
    """The bytes of the pool a thin LV maps (its size times its data percent)."""
    try:
        return int(float(row["lv_size"]) * float(row["data_percent"]) / 100)
    except (KeyError, ValueError):
        return None
