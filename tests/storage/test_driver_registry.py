"""Drivers by name: an unknown one or a vendor package that does not load fails the volume
that uses it, naming the driver and the package; the others work on."""
from __future__ import annotations

import pytest

from nebhx import BrickFailed
from nebhx.runtime.storage import registry
from nebhx.runtime.volumes import Volumes


@pytest.fixture
def broken_vendor(monkeypatch):
    extra = registry.DriverEntry("acme", "acme_array_missing:Driver", "acme-array")
    real = registry.entries()
    monkeypatch.setattr(registry, "entries", lambda: {**real, "acme": extra})
    registry.driver_class.cache_clear()
    yield
    registry.driver_class.cache_clear()


def test_unknown_and_broken_drivers_fail_naming_what(tmp_path, broken_vendor):
    vols = Volumes(tmp_path, managed=[tmp_path.resolve()])
    with pytest.raises(BrickFailed, match=r"unknown volume driver 'zfs' \(installed: btrfs, dir, lvm, overlay, xfs, acme"):
        vols.create("pg", "zfs")
    with pytest.raises(BrickFailed, match="volume driver 'acme' from package acme-array does not load "
                                          r"\(acme_array_missing:Driver\): ModuleNotFoundError"):
        vols.create("pg", "acme")
    with pytest.raises(BrickFailed, match="not a volume URL: 'nfs://h1/x'"):
        vols.open("nfs://h1/x")
    assert vols.create("pg").changed  # the dir driver is unaffected
    described = {d["name"]: d for d in registry.describe()}
    assert "does not load" in described["acme"]["error"] and described["dir"]["unavailable"] is None
