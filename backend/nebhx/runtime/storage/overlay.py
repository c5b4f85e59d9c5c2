"""The overlay driver: a volume is an OverlayFS mount of frozen lower layers and one upper.

    <root>/<name>/                           the mount: what a service reads and writes
    <root>/.layers/<name>/layers/<n>/        frozen layers (0 is the empty base)
    <root>/.layers/<name>/upper/, work/      the writable layer and overlay's work folder
    <root>/.layers/<name>/stack.json         the mounted lower layers, top first
    <root>/.layers/<name>/snapshots/<id>.json  a snapshot: its chain of layers and meta

A snapshot freezes the upper layer into a new lower: the mount is released, ``upper``
renamed to ``layers/<n>``, a fresh upper made and the volume mounted again over the longer
stack, so it costs a rename whatever the volume holds. When a process keeps the volume busy
the upper is copied into the new layer instead (the mount stays; what changes during the
copy may or may not be in it, as with the dir driver). A restore points the mount at the
snapshot's chain with a fresh upper, after freezing the current upper as the pre-restore
snapshot; it needs the volume unused (stop its service first, as rollback does). A layer
stays while a snapshot or the mount uses it. Each snapshot adds a layer to the live stack:
overlayfs mounts at most 500 lower layers, and a restore starts from the snapshot's depth.
Mounts belong to the agent's mount namespace and are made again by ``open`` after a reboot.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime import shell
from nebhx.runtime.storage.driver import Snapshot, Usage, Volume, VolumeDriver
from nebhx.runtime.storage.fs import umount, disk_usage, filesystems, read_json, snapshot_of, write_json

MAX_LOWERS = 500  # the kernel's OVL_MAX_STACK


class OverlayDriver(VolumeDriver):
    name = "overlay"
    summary = "an OverlayFS mount; a snapshot freezes the upper layer into a new lower layer"
    options = {"root": "where the volume's mount and layers go (default <home>/overlay)"}

    @classmethod
    def available(cls) -> str | None:
        if "overlay" not in filesystems():
            return "this kernel has no overlay filesystem"
        return None if os.geteuid() == 0 else "mounting an overlay needs root"

    def store(self, path: Path) -> Path:
        return path.parent / ".layers" / path.name

    # -- volumes ------------------------------------------------------------------------
    def create(self, name: str, options: dict[str, Any]) -> Volume:
        root = self.host.confine(options.get("root") or self.host.home / "overlay", param="root")
        path = root / name
        store = self.store(path)
        if (store / "stack.json").exists():
            return Volume(name, self.name, self.open(path).path, changed=False)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise BrickFailed(f"{path} exists and is not an empty directory: cannot mount a volume there")
        for sub in ("layers/0", "upper", "work", "snapshots"):
            (store / sub).mkdir(parents=True, exist_ok=True)
        path.mkdir(parents=True, exist_ok=True)
        write_json(store / "stack.json", {"lowers": ["0"], "next": 1})
        self._mount(path)
        return Volume(name, self.name, path, changed=True)

    def open(self, path: Path) -> Volume:
        if not (self.store(path) / "stack.json").exists():
            raise BrickFailed(f"volume {path.name!r} does not exist at {path} (no overlay volume there)")
        if not os.path.ismount(path):
            with self._locked(path):
                if not os.path.ismount(path):  # after a reboot, or in a new mount namespace
                    self._mount(path)
        return Volume(path.name, self.name, path)

    def delete(self, vol: Volume) -> None:
        store = self.store(vol.path)
        with self._locked(vol.path):
            umount(vol.path, "delete it")
            stack = read_json(store / "stack.json")
            write_json(store / "stack.json", {**stack, "lowers": []})
            shutil.rmtree(store / "upper", ignore_errors=True)
            shutil.rmtree(store / "work", ignore_errors=True)
            self._collect(store)
            vol.path.rmdir()
        if not any((store / "snapshots").glob("*.json")):
            shutil.rmtree(store)
            if not any(store.parent.iterdir()):
                store.parent.rmdir()

    def usage(self, vol: Volume) -> Usage:
        return Usage(disk_usage(vol.path))

    # -- snapshots ----------------------------------------------------------------------
    def snapshot(self, vol: Volume, snap_id: str, meta: dict[str, Any]) -> Snapshot:
        store = self.store(vol.path)
        with self._locked(vol.path):
            stack = read_json(store / "stack.json")
            layer = self._new_layer(store, stack)
            if self._try_umount(vol.path):
                self._freeze_upper(vol.path, store, stack, layer)
            else:  # busy: copy the upper; the live stack stays as it is
                tmp = store / "layers" / f".tmp-{layer}-{uuid.uuid4().hex[:8]}"
                try:
                    shell.run(["cp", "-a", str(store / "upper"), str(tmp)])
                    os.rename(tmp, store / "layers" / layer)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
                write_json(store / "stack.json", {**stack, "next": stack["next"] + 1})
                meta = {**meta, "frozen": "copy"}
            return self._record(vol, snap_id, [layer, *stack["lowers"]], meta)

    def _freeze_upper(self, path: Path, store: Path, stack: dict, layer: str) -> None:
        """Mount released: ``upper`` becomes layer ``layer`` on top of the lowers."""
        if len(stack["lowers"]) >= MAX_LOWERS:
            self._mount(path)
            raise BrickFailed(f"volume {path.name!r} has {len(stack['lowers'])} layers, the most overlayfs "
                              "mounts: restore a snapshot to start from a shorter chain")
        os.rename(store / "upper", store / "layers" / layer)
        (store / "upper").mkdir()
        write_json(store / "stack.json", {"lowers": [layer, *stack["lowers"]], "next": stack["next"] + 1})
        self._mount(path)

    def snapshots(self, vol: Volume) -> list[Snapshot]:
        store = self.store(vol.path)
        out = []
        for rec in sorted((store / "snapshots").glob("*.json")):
            meta = read_json(rec)
            if meta.get("chain"):
                out.append(snapshot_of(meta, snap_id=rec.stem, volume=vol.name,
                                       path=store / "layers" / meta["chain"][0]))
        return out

    def restore(self, vol: Volume, snap: Snapshot, pre_id: str, meta: dict[str, Any]) -> Snapshot:
        store = self.store(vol.path)
        chain = read_json(store / "snapshots" / f"{snap.id}.json")["chain"]
        with self._locked(vol.path):
            umount(vol.path, "restore a snapshot into it")
            stack = read_json(store / "stack.json")
            layer = self._new_layer(store, stack)
            os.rename(store / "upper", store / "layers" / layer)
            pre = self._record(vol, pre_id, [layer, *stack["lowers"]], meta)
            (store / "upper").mkdir()
            write_json(store / "stack.json", {"lowers": chain, "next": stack["next"] + 1})
            self._mount(vol.path)
        return pre

    def delete_snapshot(self, vol: Volume, snap: Snapshot) -> None:
        store = self.store(vol.path)
        with self._locked(vol.path):
            (store / "snapshots" / f"{snap.id}.json").unlink()
            self._collect(store)

    # -- the mechanics ------------------------------------------------------------------
    def _record(self, vol: Volume, snap_id: str, chain: list[str], meta: dict[str, Any]) -> Snapshot:
        store = self.store(vol.path)
        meta = {**meta, "chain": chain, "size": disk_usage(store / "layers" / chain[0]), "driver": self.name}
        write_json(store / "snapshots" / f"{snap_id}.json", meta)
        return snapshot_of(meta, snap_id=snap_id, volume=vol.name, path=store / "layers" / chain[0])

    @staticmethod
    def _new_layer(store: Path, stack: dict) -> str:
        layer = str(stack["next"])
        if (store / "layers" / layer).exists():
            raise BrickFailed(f"layer {layer} of {store} exists already: the stack record is behind its layers")
        return layer

    def _collect(self, store: Path) -> None:
        """Remove the layers no snapshot and no mount uses."""
        used = set(read_json(store / "stack.json").get("lowers") or [])
        for rec in (store / "snapshots").glob("*.json"):
            used.update(read_json(rec).get("chain") or [])
        for layer in (store / "layers").iterdir():
            if layer.name not in used:
                shutil.rmtree(layer)

    def _mount(self, path: Path) -> None:
        store = self.store(path)
        lowers = read_json(store / "stack.json")["lowers"]
        shutil.rmtree(store / "work", ignore_errors=True)
        (store / "work").mkdir()
        # Lower layers by their short names from inside layers/: the options must fit one page.
        opts = f"lowerdir={':'.join(lowers)},upperdir={store / 'upper'},workdir={store / 'work'}"
        shell.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(path)], cwd=str(store / "layers"))

    def _try_umount(self, path: Path) -> bool:
        return shell.run(["umount", str(path)], check=False).returncode == 0


    @contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        """One change of a volume's layers at a time, across processes."""
        lock = self.store(path) / ".lock"
        with open(lock, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield
