"""The third-party driver: nebhx-xfs, installed from drivers/nebhx-xfs and found by its entry
point, on a real XFS filesystem with reflink that it makes on a loop device."""
from __future__ import annotations

import os

import pytest
from volume_support import unmount_under

from nebhx import BrickFailed
from nebhx.runtime.storage import registry
from nebhx.runtime.volumes import Volumes


def test_found_by_entry_point_as_another_package():
    entry = registry.entries()["xfs"]
    assert (entry.package, entry.target) == ("nebhx-xfs", "nebhx_xfs:XfsDriver")
    assert registry.driver_class("xfs").__module__ == "nebhx_xfs"


def test_makes_its_pool_and_snapshots_share_its_blocks(tmp_path):
    home = tmp_path / "home"
    pool = home / "pool"
    vols = Volumes(home, managed=[home.resolve()], host="h1")
    with pytest.raises(BrickFailed, match="is not on an XFS filesystem .*give image_size"):
        vols.create("pg", "xfs", options={"pool": str(pool)})
    vol = vols.create("pg", "xfs", options={"pool": str(pool), "image_size": "400M"})
    try:
        assert os.path.ismount(pool) and vol.path == pool.resolve() / "pg"
        (vol.path / "table").write_bytes(os.urandom(64 * 1024 * 1024))
        os.sync()
        free = os.statvfs(pool).f_bfree
        snap = vols.snapshot(vol.url("h1"), "s1")
        os.sync()
        used_by_snapshot = (free - os.statvfs(pool).f_bfree) * os.statvfs(pool).f_frsize
        assert snap.size >= 64 * 1024 * 1024 and used_by_snapshot < 4 * 1024 * 1024  # reflinked, not copied
        (vol.path / "table").write_bytes(b"changed")
        vols.restore(vol.url("h1"), "s1")
        assert (vol.path / "table").stat().st_size == 64 * 1024 * 1024
        assert not vols.create("pg", "xfs", options={"pool": str(pool), "image_size": "400M"}).changed
    finally:
        vols.driver("xfs").release_pool(pool.resolve())
        unmount_under(tmp_path)
    assert not os.path.ismount(pool)
