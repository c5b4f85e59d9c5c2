"""The storage bricks over the driver interface: a driver by name with its options, a
retention rule, a release on each snapshot, prune and delete with their plans."""
from __future__ import annotations

from pathlib import Path

import pytest
from volume_support import unmount_under

from nebhx import BrickFailed, Context
from nebhx.runtime import HostRuntime

BLOCKS = Path(__file__).resolve().parents[2] / "blocks"


@pytest.fixture(scope="module")
def bricks():
    from nebhx.bricks.registry import load_registry
    reg = load_registry([BLOCKS])
    assert not [e for e in reg.errors if "storage" in e.source], reg.errors
    return {bid: reg.get(bid)() for bid in reg.bricks if bid.startswith("storage.")}


@pytest.fixture
def ctx(tmp_path):
    yield Context(runtime=HostRuntime("h1", tmp_path / "h1"))
    unmount_under(tmp_path)


def test_overlay_volume_with_retention_prune_and_delete(bricks, ctx):
    vol = bricks["storage.volume"](ctx, host="h1", name="pg", driver="overlay", keep_snapshots=2)
    assert vol.volume_url.startswith("overlay://h1/") and vol.changed
    url = vol.volume_url
    for i in range(3):
        (Path(vol.path) / "n").write_text(str(i))
        bricks["storage.snapshot"](ctx, host="h1", volume_url=url, name=f"s{i}", release=f"r{i}")
    snaps = ctx.runtime.volumes.snapshots(url)
    assert [(s.id, s.release) for s in snaps] == [("s1", "r1"), ("s2", "r2")]  # s0 beyond the rule

    plan = bricks["storage.prune"].plan(ctx, bricks["storage.prune"].Inputs(host="h1", volume_url=url, keep_last=1))
    assert plan["changes"] and plan["outputs"] == {"pruned": ["s1"]}
    assert [s.id for s in ctx.runtime.volumes.snapshots(url)] == ["s1", "s2"]  # a plan changes nothing
    out = bricks["storage.prune"](ctx, host="h1", volume_url=url, keep_last=1)
    assert (out.pruned, out.kept) == (["s1"], ["s2"])
    assert bricks["storage.prune"](ctx, host="h1", volume_url=url).pruned == []  # the volume's rule: 2

    delete = bricks["storage.delete_snapshot"]
    assert delete.plan(ctx, delete.Inputs(host="h1", volume_url=url, snapshot="s2"))["changes"]
    gone = delete(ctx, host="h1", volume_url=url, snapshot="s2")
    assert gone.deleted == "s2" and gone.size is not None and ctx.runtime.volumes.snapshots(url) == []
    with pytest.raises(BrickFailed, match=r"has no snapshot 's2' \(it has: none\)"):
        delete(ctx, host="h1", volume_url=url, snapshot="s2")
    assert (Path(vol.path) / "n").read_text() == "2"


def test_driver_and_option_errors_name_what(bricks, ctx):
    with pytest.raises(BrickFailed, match=r"unknown volume driver 'zfs' \(installed: btrfs, dir, lvm, overlay, xfs"):
        bricks["storage.volume"](ctx, host="h1", name="x", driver="zfs")
    with pytest.raises(BrickFailed, match="the dir volume driver has no option 'pool' .it takes: none."):
        bricks["storage.volume"](ctx, host="h1", name="x", options={"pool": "/srv"})
    with pytest.raises(BrickFailed, match="the overlay volume driver has no option 'quota' .it takes: root."):
        bricks["storage.volume"](ctx, host="h1", name="x", driver="overlay", quota="1G")
    with pytest.raises(BrickFailed, match="root: /etc is outside this host's managed folders"):
        bricks["storage.volume"](ctx, host="h1", name="x", driver="overlay", options={"root": "/etc"})
    assert ctx.runtime.volumes.view("h1") == []
