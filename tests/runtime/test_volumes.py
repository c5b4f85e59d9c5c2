"""Volumes on the real thing: plain directories on this disk, btrfs on a loop device."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from nebhx import BrickFailed
from nebhx.runtime.volumes import Volumes, parse_volume_url, volume_url
from support import require


def _sh(*cmd: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _ensure_btrfs_progs() -> None:
    require("mkfs.btrfs", "btrfs-progs")


@pytest.fixture(scope="module")
def btrfs_mount(tmp_path_factory):
    """A fresh 300 MB btrfs filesystem mounted on a loop device, removed afterwards."""
    _ensure_btrfs_progs()
    base = tmp_path_factory.mktemp("btrfs")
    img, mnt = base / "img", base / "mnt"
    mnt.mkdir()
    _sh("truncate", "-s", "300M", str(img))
    dev = _sh("losetup", "-f", "--show", str(img))
    try:
        _sh("mkfs.btrfs", "-q", dev)
        _sh("mount", dev, str(mnt))
        try:
            yield mnt
        finally:
            subprocess.run(["umount", str(mnt)], capture_output=True)
    finally:
        subprocess.run(["losetup", "-d", dev], capture_output=True)


@pytest.fixture
def managed_mount(btrfs_mount, monkeypatch):
    """The btrfs mount, listed in NEBHX_HOST_MANAGED_PATHS: it is outside the host home."""
    from nebhx.settings import reset_settings
    monkeypatch.setenv("NEBHX_HOST_MANAGED_PATHS", str(btrfs_mount))
    reset_settings()
    yield btrfs_mount
    reset_settings()


def test_dir_volume_create_is_idempotent(tmp_path):
    vols = Volumes(tmp_path)
    first = vols.create("pg")
    assert first.changed and first.path == tmp_path / "volumes" / "pg" and first.path.is_dir()
    (first.path / "data").write_text("x")
    again = vols.create("pg")
    assert not again.changed and (again.path / "data").read_text() == "x"
    url = first.url("h1")
    assert url == f"dir://h1{tmp_path.resolve()}/volumes/pg"
    assert parse_volume_url(url) == ("dir", "h1", (tmp_path / "volumes" / "pg").resolve())
    assert vols.open(url).path == first.path.resolve()


def test_bad_input_fails_clearly_and_changes_nothing(tmp_path):
    vols = Volumes(tmp_path)
    for bad in ("../etc", ".hidden", "a/b", ""):
        with pytest.raises(BrickFailed, match="invalid volume name"):
            vols.create(bad)
    with pytest.raises(BrickFailed, match="unknown volume driver 'zfs'"):
        vols.create("pg", "zfs")
    with pytest.raises(BrickFailed, match="needs btrfs_root"):
        vols.create("pg", "btrfs")
    with pytest.raises(BrickFailed, match="not a directory on a btrfs filesystem"):
        vols.create("pg", "btrfs", btrfs_root=tmp_path)
    with pytest.raises(BrickFailed, match="not a volume URL"):
        vols.open("nfs://h1/x")
    with pytest.raises(BrickFailed, match="not a dir volume of this host"):
        vols.open("dir://h1/etc")
    assert not (tmp_path / "volumes").exists() and not (tmp_path / "pg").exists()


def test_dir_snapshot_restore_keeps_pre_restore_data(tmp_path):
    vols = Volumes(tmp_path)
    vol = vols.create("app")
    (vol.path / "db").write_text("v1")
    os.symlink("db", vol.path / "link")
    snap = vols.snapshot("app", "before-upgrade")
    assert snap.path == tmp_path / "snapshots" / "app" / "before-upgrade"
    assert (snap.path / "db").read_text() == "v1" and os.readlink(snap.path / "link") == "db"
    with pytest.raises(BrickFailed, match="already exists"):
        vols.snapshot("app", "before-upgrade")
    (vol.path / "db").write_text("v2 with payments")
    (vol.path / "new").write_text("n")
    inode_before = os.stat(vol.path).st_ino

    restored, pre = vols.restore("app", "before-upgrade")
    assert restored.id == "before-upgrade" and pre.id.startswith("pre-restore-")
    assert (vol.path / "db").read_text() == "v1" and not (vol.path / "new").exists()
    assert os.stat(vol.path).st_ino != inode_before  # swapped, not rewritten in place
    assert (pre.path / "db").read_text() == "v2 with payments"
    assert [s.id for s in vols.snapshots("app")] == ["before-upgrade", pre.id]
    assert vols.snapshots("app")[1].kind == "pre-restore"
    assert not [p for p in vol.path.parent.iterdir() if p.name.startswith(".")]

    vols.restore("app", pre.id)  # undo: the new data is back
    assert (vol.path / "db").read_text() == "v2 with payments"
    with pytest.raises(BrickFailed, match="has no snapshot 'nope'"):
        vols.restore("app", "nope")


def test_dir_snapshot_without_name_and_delete(tmp_path):
    vols = Volumes(tmp_path)
    vols.create("logs")
    a = vols.snapshot("logs")
    b = vols.snapshot("logs")
    assert a.id != b.id and a.id.endswith("Z")
    vols.delete_snapshot("logs", a.id)
    assert [s.id for s in vols.snapshots("logs")] == [b.id]
    assert not a.path.exists() and not a.path.with_name(a.id + ".json").exists()
    vols.delete("logs", snapshots=True)
    assert not (tmp_path / "volumes" / "logs").exists() and not b.path.exists()


def test_btrfs_volume_snapshot_restore(managed_mount: Path):
    btrfs_mount = managed_mount
    vols = Volumes(btrfs_mount / "home")
    vol = vols.create("pg", "btrfs", btrfs_root=btrfs_mount)
    assert vol.changed and os.stat(vol.path).st_ino == 256
    assert not vols.create("pg", "btrfs", btrfs_root=btrfs_mount).changed
    url = vol.url("h1")
    assert url == volume_url("btrfs", "h1", btrfs_mount / "pg") and url.startswith("btrfs://h1/")
    (vol.path / "table").write_text("v1")

    snap = vols.snapshot(url, "s1")
    assert snap.path == btrfs_mount / ".snapshots" / "pg" / "s1"
    ro = _sh("btrfs", "property", "get", "-ts", str(snap.path), "ro")
    assert ro == "ro=true"
    (vol.path / "table").write_text("v2")

    restored, pre = vols.restore(url, "s1")
    assert (vol.path / "table").read_text() == "v1"
    assert os.stat(vol.path).st_ino == 256  # still a subvolume, and a writable one
    (vol.path / "after").write_text("writable")
    assert (pre.path / "table").read_text() == "v2"
    assert _sh("btrfs", "property", "get", "-ts", str(pre.path), "ro") == "ro=true"
    assert [s.id for s in vols.snapshots(url)] == ["s1", pre.id]
    vols.delete(url, snapshots=True)
    assert not vol.path.exists() and not snap.path.exists()


def test_btrfs_quota_and_plain_dir_clash(managed_mount: Path):
    btrfs_mount = managed_mount
    vols = Volumes(btrfs_mount / "home")
    vol = vols.create("q", "btrfs", btrfs_root=btrfs_mount, quota="20M")
    assert vol.changed
    assert not vols.create("q", "btrfs", btrfs_root=btrfs_mount, quota="20M").changed
    limits = _sh("btrfs", "qgroup", "show", "-rf", "--raw", str(vol.path))
    assert str(20 * 1024 * 1024) in limits
    with pytest.raises(BrickFailed, match="invalid quota"):
        vols.create("q", "btrfs", btrfs_root=btrfs_mount, quota="lots")
    (btrfs_mount / "plain").mkdir()
    with pytest.raises(BrickFailed, match="exists and is not a btrfs subvolume"):
        vols.create("plain", "btrfs", btrfs_root=btrfs_mount)
