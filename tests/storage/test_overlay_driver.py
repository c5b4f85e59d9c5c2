"""The overlay driver on real OverlayFS mounts: layers, a busy volume, a lost mount, and a
private mount namespace (as an agent on a namespace host has)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from volume_support import unmount_under

from nebhx import BrickFailed
from nebhx.runtime.volumes import Volumes


@pytest.fixture
def vols(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    yield Volumes(home, managed=[home.resolve()], host="h1")
    unmount_under(tmp_path)


def mount_options(path: Path) -> str:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        dev, mnt, fstype, opts = line.split()[:4]
        if mnt == str(path) and fstype == "overlay":
            return opts
    return ""


def test_a_snapshot_freezes_the_upper_and_a_restore_mounts_the_snapshots_chain(vols):
    vol = vols.create("pg", "overlay")
    url, store = vol.url("h1"), vol.path.parent / ".layers" / "pg"
    assert "lowerdir=0," in mount_options(vol.path)
    (vol.path / "t").write_text("v1")
    s1 = vols.snapshot(url, "s1")
    assert s1.path == store / "layers" / "1" and (s1.path / "t").read_text() == "v1"
    assert "lowerdir=1:0," in mount_options(vol.path) and not any((store / "upper").iterdir())
    (vol.path / "t").write_text("v2")
    vols.snapshot(url, "s2")
    assert "lowerdir=2:1:0," in mount_options(vol.path)
    _, pre = vols.restore(url, "s1")
    assert "lowerdir=1:0," in mount_options(vol.path) and (vol.path / "t").read_text() == "v1"
    assert not any(pre.path.iterdir())  # nothing was written since s2: its frozen upper is empty
    vols.delete_snapshot(url, "s2")
    assert (store / "layers" / "2").is_dir()  # still in the pre-restore snapshot's chain
    vols.restore(url, pre.id)
    assert "lowerdir=3:2:1:0," in mount_options(vol.path) and (vol.path / "t").read_text() == "v2"


def test_a_busy_volume_is_snapshotted_by_copy_and_not_restored_under_a_process(vols):
    vol = vols.create("busy", "overlay")
    url = vol.url("h1")
    (vol.path / "log").write_text("a")
    with open(vol.path / "log", "a") as held:
        snap = vols.snapshot(url, "live")
        meta = json.loads((vol.path.parent / ".layers" / "busy" / "snapshots" / "live.json").read_text())
        assert meta["frozen"] == "copy" and (snap.path / "log").read_text() == "a"
        assert "lowerdir=0," in mount_options(vol.path)  # the live stack stayed
        held.write("b")
        held.flush()
        with pytest.raises(BrickFailed, match="volume 'busy' is in use .*stop the service"):
            vols.restore(url, "live")
        assert (vol.path / "log").read_text() == "ab" and [s.id for s in vols.snapshots(url)] == ["live"]
    vols.restore(url, "live")
    assert (vol.path / "log").read_text() == "a"


def test_a_lost_mount_is_made_again_when_the_volume_is_opened(vols):
    vol = vols.create("boot", "overlay")
    (vol.path / "kept").write_text("k")
    vols.snapshot(vol.url("h1"), "s")
    subprocess.run(["umount", str(vol.path)], check=True)  # as after a reboot
    assert not os.path.ismount(vol.path) and not (vol.path / "kept").exists()
    assert (vols.open(vol.url("h1")).path / "kept").read_text() == "k"
    assert "lowerdir=1:0," in mount_options(vol.path)


def test_in_a_private_mount_namespace_the_volume_is_that_namespaces_alone(tmp_path):
    """An agent under `ip netns exec` has its own mount namespace: the volume is mounted,
    snapshotted and restored there, and the host's mount table never sees it."""
    home = tmp_path / "home"
    home.mkdir()
    script = textwrap.dedent(f"""
        import json, os
        from pathlib import Path
        from nebhx.runtime.volumes import Volumes
        vols = Volumes(Path({str(home)!r}), managed=[Path({str(home.resolve())!r})])
        vol = vols.create("ns", "overlay")
        url = vol.url("h1")
        (vol.path / "f").write_text("one")
        vols.snapshot(url, "s")
        (vol.path / "f").write_text("two")
        vols.restore(url, "s")
        print(json.dumps({{"path": str(vol.path), "mounted": os.path.ismount(vol.path),
                           "f": (vol.path / "f").read_text(), "snaps": [s.id for s in vols.snapshots(url)]}}))
    """)
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, "-c", script],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["mounted"] and out["f"] == "one" and out["snaps"][0] == "s" and len(out["snaps"]) == 2
    assert not os.path.ismount(out["path"]) and not mount_options(Path(out["path"]))
    # The layers are on the host's disk: a new namespace (a restarted agent) mounts them again.
    again = Volumes(home, managed=[home.resolve()]).open(f"overlay://h1{out['path']}")
    try:
        assert (again.path / "f").read_text() == "one"
    finally:
        unmount_under(tmp_path)
