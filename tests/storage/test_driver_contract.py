"""The volume-driver contract, run against every driver installed: dir, btrfs and XFS reflink
(loop devices), overlay (real mounts), and LVM thin where the kernel has device-mapper
(marker ``devmapper``: deselected and listed as not run elsewhere, see conftest).

A vendor's driver installed beside nebhx is in the list too; its options come from
``NEBHX_TEST_VOLUME_OPTIONS`` (JSON: driver -> options), e.g. the array's address and pool.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from volume_support import unmount_under

from nebhx import BrickFailed
from nebhx.runtime.storage import registry
from nebhx.runtime.volumes import Retention, Volume, Volumes, parse_volume_url

DRIVERS = [pytest.param(d, marks=pytest.mark.devmapper) if d == "lvm" else d for d in registry.names()]


@dataclass
class Case:
    driver: str
    vols: Volumes
    options: dict

    def create(self, name: str, retention: Retention | None = None) -> Volume:
        return self.vols.create(name, self.driver, options=self.options, retention=retention)


@pytest.fixture(params=DRIVERS)
def case(request, tmp_path):
    driver, home = request.param, tmp_path / "home"
    reason = registry.driver_class(driver).available()
    if reason:
        pytest.fail(f"the {driver} driver cannot run on this machine: {reason}")
    managed, options = [home], {}
    if driver in ("btrfs", "xfs"):
        fs = request.getfixturevalue(f"{driver}_fs")
        root = fs / tmp_path.name  # one folder per test on the shared loop filesystem
        root.mkdir()
        managed.append(fs)
        options = {"root": str(root)} if driver == "btrfs" else {"pool": str(root)}
    elif driver == "lvm":
        vg, pool = request.getfixturevalue("lvm_vg")
        options = {"vg": vg, "pool": pool, "size": "64M"}
    elif driver not in ("dir", "overlay"):  # a vendor's driver
        options = json.loads(os.environ.get("NEBHX_TEST_VOLUME_OPTIONS") or "{}").get(driver, {})
    home.mkdir()
    vols = Volumes(home, managed=[p.resolve() for p in managed], host="h1")
    yield Case(driver, vols, options)
    for row in vols.view("h1"):  # LVs outlive the test's folder: remove what is left
        if driver == "lvm" and not row.get("error"):
            vols.delete(row["url"], snapshots=True)
    unmount_under(tmp_path)


def files(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): p.read_text() for p in sorted(path.rglob("*"))
            if p.is_file() and "lost+found" not in p.parts}


def test_create_is_idempotent_and_named_by_its_url(case):
    vol = case.create("pg")
    assert vol.changed and vol.driver == case.driver and vol.path.is_dir()
    (vol.path / "table").write_text("v1")
    again = case.create("pg")
    assert not again.changed and files(again.path) == {"table": "v1"}
    url = vol.url("h1")
    assert url.startswith(f"{case.driver}://h1/") and parse_volume_url(url)[0] == case.driver
    assert case.vols.open(url).path == vol.path.resolve()
    assert case.vols.usage(url).used >= 1


def test_snapshot_restore_undo_and_restore_again(case):
    vol = case.create("app")
    url = vol.url("h1")
    (vol.path / "db").write_text("v1")
    (vol.path / "sub").mkdir()
    (vol.path / "sub" / "old").write_text("o")
    s1 = case.vols.snapshot(url, "s1", release="r1")
    assert (s1.id, s1.kind, s1.release) == ("s1", "manual", "r1") and s1.size and s1.created_at > 0
    (vol.path / "db").write_text("v2 with payments")
    (vol.path / "new").write_text("n")
    (vol.path / "sub" / "old").unlink()
    v2 = files(vol.path)

    restored, pre = case.vols.restore(url, "s1")
    assert restored.id == "s1" and pre.id.startswith("pre-restore-") and pre.kind == "pre-restore"
    assert files(vol.path) == {"db": "v1", "sub/old": "o"}
    (vol.path / "written-after").write_text("the restored volume is writable")
    case.vols.restore(url, pre.id)  # undo: the new data is back
    assert files(vol.path) == v2
    case.vols.restore(url, "s1")  # a restored snapshot stays and restores again
    assert files(vol.path) == {"db": "v1", "sub/old": "o"}
    listed = case.vols.snapshots(url)
    assert [s.id for s in listed][0] == "s1" and len(listed) == 4
    assert [s.kind for s in listed].count("pre-restore") == 3


def test_deleting_one_snapshot_leaves_the_others_whole(case):
    vol = case.create("chain")
    url = vol.url("h1")
    for i in (1, 2, 3):
        (vol.path / "a").write_text(str(i))
        (vol.path / f"only{i}").write_text(str(i))
        case.vols.snapshot(url, f"s{i}")
    case.vols.delete_snapshot(url, "s2")
    assert [s.id for s in case.vols.snapshots(url)] == ["s1", "s3"]
    case.vols.restore(url, "s1")
    assert files(vol.path) == {"a": "1", "only1": "1"}
    case.vols.restore(url, "s3")
    assert files(vol.path) == {"a": "3", "only1": "1", "only2": "2", "only3": "3"}


def test_bad_names_and_options_fail_clearly_and_change_nothing(case):
    vol = case.create("x")
    url = vol.url("h1")
    case.vols.snapshot(url, "keep")
    with pytest.raises(BrickFailed, match="snapshot 'keep' of volume 'x' already exists"):
        case.vols.snapshot(url, "keep")
    with pytest.raises(BrickFailed, match="invalid snapshot name '../up'"):
        case.vols.snapshot(url, "../up")
    with pytest.raises(BrickFailed, match=r"has no snapshot 'nope' \(it has: keep\)"):
        case.vols.restore(url, "nope")
    with pytest.raises(BrickFailed, match=f"the {case.driver} volume driver has no option 'colour'"):
        case.vols.create("y", case.driver, options={**case.options, "colour": "red"})
    assert [s.id for s in case.vols.snapshots(url)] == ["keep"]
    assert [r["name"] for r in case.vols.view("h1")] == ["x"]


def test_retention_prunes_the_oldest_but_never_a_rollouts_snapshot(case):
    vol = case.create("logs", retention=Retention(keep_last=2))
    url = vol.url("h1")
    for i in (1, 2, 3):
        (vol.path / "n").write_text(str(i))
        case.vols.snapshot(url, f"s{i}")
    assert [s.id for s in case.vols.snapshots(url)] == ["s2", "s3"]  # s1 pruned by the volume's rule
    assert case.vols.prune(url, Retention(keep_days=1)) == []  # all younger than a day
    journal = case.vols.home / "services" / "web" / "rollout" / "default.json"
    journal.parent.mkdir(parents=True)
    journal.write_text(json.dumps({"snapshot": {"volume": url, "id": "s2"}}))
    pruned = case.vols.prune(url, Retention(keep_last=0))
    assert [s.id for s in pruned] == ["s3"] and [s.id for s in case.vols.snapshots(url)] == ["s2"]
    case.vols.restore(url, "s2")
    assert files(vol.path) == {"n": "2"}


def test_view_reports_usage_sizes_and_releases_and_delete_removes_all(case):
    vol = case.create("data")
    url = vol.url("h1")
    (vol.path / "blob").write_bytes(b"x" * 200_000)
    snap = case.vols.snapshot(url, release="20260101-v7", kind="pre-rollout")
    [row] = case.vols.view("h1")
    assert (row["name"], row["driver"], row["url"]) == ("data", case.driver, url) and "error" not in row
    assert row["used"] >= 200_000
    [listed] = row["snapshots"]
    assert (listed["id"], listed["kind"], listed["release"]) == (snap.id, "pre-rollout", "20260101-v7")
    assert listed["size"] >= 200_000
    case.vols.delete(url, snapshots=True)
    assert case.vols.view("h1") == [] and not vol.path.exists()
    with pytest.raises(BrickFailed, match="does not exist"):
        case.vols.open(url)
