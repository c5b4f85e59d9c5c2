"""The storage, release and config bricks, run as plain objects on a real host folder."""
from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from pydantic import ValidationError

from nebhx import BrickFailed, Context
from nebhx.runtime import HostRuntime

BLOCKS = Path(__file__).resolve().parents[2] / "blocks"
IDS = {"storage.volume": "storage", "storage.snapshot": "storage", "storage.restore": "storage",
       "release.stage": "release", "release.switch": "release", "config.render": "config"}


@pytest.fixture(scope="module")
def bricks():
    from nebhx.bricks.registry import load_registry
    reg = load_registry([BLOCKS])
    mine = [e for e in reg.errors if any(k in e.source for k in ("storage", "release", "config"))]
    assert not mine, mine
    return {bid: reg.get(bid)() for bid in IDS}


@pytest.fixture
def ctx(tmp_path):
    return Context(runtime=HostRuntime("h1", tmp_path / "h1"))


def tgz(path: Path, text: str) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("bin/app")
        info.size = len(text)
        tf.addfile(info, io.BytesIO(text.encode()))
    path.write_bytes(buf.getvalue())
    return path


def test_palette_entries(bricks):
    from nebhx.bricks.registry import brick_spec
    for bid, category in IDS.items():
        spec = brick_spec(type(bricks[bid]))
        assert spec["category"] == category and spec["host_input"] == "host"
        assert len(spec["docs"]) > 200, f"{bid} needs real docs"
    ports = {p["name"]: p for p in brick_spec(type(bricks["storage.volume"]))["outputs"]}
    assert ports["volume_url"]["type"] == "VolumeUrl"
    ins = {p["name"]: p for p in brick_spec(type(bricks["storage.volume"]))["inputs"]}
    assert ins["driver"]["default"] == "dir" and not ins["btrfs_root"]["required"]


def test_rollback_keeps_new_data_with_old_binary(bricks, ctx, tmp_path):
    """Deploy v1, snapshot, deploy v2 which writes data, roll the binary back, keep data."""
    vol = bricks["storage.volume"](ctx, host="h1", name="bank")
    assert vol.changed and vol.volume_url.startswith("dir://h1/")
    assert not bricks["storage.volume"](ctx, host="h1", name="bank").changed
    Path(vol.path, "ledger").write_text("v1 ledger")
    v1 = bricks["release.stage"](ctx, host="h1", service="bank",
                                 source=str(tgz(tmp_path / "v1.tgz", "v1")), release_id="v1")
    bricks["release.switch"](ctx, host="h1", service="bank", release=v1.release)
    snap = bricks["storage.snapshot"](ctx, host="h1", volume_url=vol.volume_url,
                                      name="before-v2")
    v2 = bricks["release.stage"](ctx, host="h1", service="bank",
                                 source=str(tgz(tmp_path / "v2.tgz", "v2")))
    sw = bricks["release.switch"](ctx, host="h1", service="bank", release=v2.release)
    assert (sw.previous, sw.current, sw.changed) == ("v1", v2.release, True)
    Path(vol.path, "ledger").write_text("v2 ledger with payments")

    back = bricks["release.switch"](ctx, host="h1", service="bank", release=sw.previous)
    assert Path(back.path, "bin", "app").read_text() == "v1"
    assert Path(vol.path, "ledger").read_text() == "v2 ledger with payments"  # data kept

    # ...or take the data back too, keeping the new data as a snapshot.
    res = bricks["storage.restore"](ctx, host="h1", volume_url=vol.volume_url,
                                    snapshot=snap.snapshot)
    assert Path(vol.path, "ledger").read_text() == "v1 ledger"
    assert res.pre_restore.startswith("pre-restore-") and res.restored == "before-v2"
    vols = ctx.runtime.volumes
    assert Path(vols.get_snapshot(vol.volume_url, res.pre_restore).path,
                "ledger").read_text() == "v2 ledger with payments"


def test_stage_retention_and_pin(bricks, ctx, tmp_path):
    stage = bricks["release.stage"]
    first = stage(ctx, host="h1", service="s", source=str(tgz(tmp_path / "a.tgz", "a")), pin=True)
    for i in range(4):
        out = stage(ctx, host="h1", service="s", keep=2,
                    source=str(tgz(tmp_path / f"b{i}.tgz", f"b{i}")))
    assert out.changed and out.removed
    listed = [r.id for r in ctx.runtime.releases.list("s")]
    assert first.release in listed and len(listed) == 3
    again = stage(ctx, host="h1", service="s", keep=2, source=str(tmp_path / "b3.tgz"))
    assert not again.changed and again.release == out.release


def test_config_render_writes_version_with_explain(bricks, ctx):
    profiles = {"linux": {"values": {"port": 80, "user": "www"}},
                "web": {"parents": ["linux"], "clusters": {"eu": {"port": 8080}},
                        "hosts": {"h1": {"user": "web1"}},
                        "templates": {"site.conf": "listen {{ port }}\nuser {{ user }}\n"}}}
    out = bricks["config.render"](ctx, host="h1", service="web", profiles=profiles,
                                  profile="web", cluster="eu")
    assert out.changed and out.files == ["site.conf"]
    assert Path(out.path, "site.conf").read_text() == "listen 8080\nuser web1\n"
    assert out.path == str(ctx.runtime.home / "services" / "web" / "configs" / out.version)
    assert out.explain["port"]["layer"] == "web@cluster:eu"
    assert out.explain["user"]["overrode"] == [{"layer": "linux", "value": "www"}]
    again = bricks["config.render"](ctx, host="h1", service="web", profiles=profiles,
                                    profile="web", cluster="eu")
    assert not again.changed and again.version == out.version
    profiles["web"]["templates"]["x.conf"] = "{{ missing }}"
    with pytest.raises(BrickFailed, match="template 'x.conf' at line 1: 'missing' is undefined"):
        bricks["config.render"](ctx, host="h1", service="web", profiles=profiles, profile="web")


def test_bad_input_fails_clearly_and_leaves_host_alone(bricks, ctx, tmp_path):
    before = sorted(ctx.runtime.home.rglob("*"))
    cases = [
        ("storage.volume", dict(host="h1", name="../x"), "invalid volume name"),
        ("storage.volume", dict(host="h2", name="x"), "for host 'h2' but runs on 'h1'"),
        ("storage.snapshot", dict(host="h1", volume_url="dir://h2/x"), "lives on host 'h2'"),
        ("storage.restore", dict(host="h1", volume_url=f"dir://h1{tmp_path}/h1/volumes/nope",
                                 snapshot="s"), "does not exist"),
        ("release.stage", dict(host="h1", service="s", source="https://x/y.tgz"),
         "sha256 is required"),
        ("release.stage", dict(host="h1", service="s", source=str(tmp_path / "missing.tgz")),
         "neither an existing path"),
        ("release.switch", dict(host="h1", service="s", release="v9"), "is not staged"),
        ("config.render", dict(host="h1", service="s", profiles={"a": {"parents": ["a"]}},
                               profile="a"), "cycle: a -> a"),
    ]
    for bid, inputs, message in cases:
        with pytest.raises(BrickFailed, match=message):
            bricks[bid](ctx, **inputs)
    with pytest.raises(BrickFailed, match="unknown volume driver 'zfs'"):  # drivers are plugins: known on the host
        bricks["storage.volume"](ctx, host="h1", name="x", driver="zfs")
    with pytest.raises(ValidationError):
        bricks["storage.volume"](ctx, host="h1", name="x", driver="../zfs")
    with pytest.raises(ValidationError):
        bricks["release.stage"](ctx, host="h1", service="s", source="x", keep=0)
    assert sorted(ctx.runtime.home.rglob("*")) == before


def test_btrfs_volume_through_bricks(bricks, ctx, tmp_path, monkeypatch, request):
    from nebhx.settings import reset_settings
    img, mnt = tmp_path / "img", tmp_path / "mnt"
    mnt.mkdir()
    # The mount is outside the host home: the operator lists it as a managed folder.
    monkeypatch.setenv("NEBHX_HOST_MANAGED_PATHS", str(mnt))
    reset_settings()
    request.addfinalizer(reset_settings)
    subprocess.run(["truncate", "-s", "300M", str(img)], check=True)
    dev = subprocess.run(["losetup", "-f", "--show", str(img)], capture_output=True,
                         text=True, check=True).stdout.strip()
    try:
        subprocess.run(["mkfs.btrfs", "-q", dev], check=True, capture_output=True)
        subprocess.run(["mount", dev, str(mnt)], check=True)
        try:
            vol = bricks["storage.volume"](ctx, host="h1", name="pg", driver="btrfs",
                                           btrfs_root=str(mnt))
            assert vol.volume_url == f"btrfs://h1{mnt}/pg" and os.stat(vol.path).st_ino == 256
            Path(vol.path, "f").write_text("1")
            snap = bricks["storage.snapshot"](ctx, host="h1", volume_url=vol.volume_url)
            Path(vol.path, "f").write_text("2")
            bricks["storage.restore"](ctx, host="h1", volume_url=vol.volume_url,
                                      snapshot=snap.snapshot)
            assert Path(vol.path, "f").read_text() == "1"
        finally:
            subprocess.run(["umount", str(mnt)], check=True)
    finally:
        subprocess.run(["losetup", "-d", dev], check=True)
