"""Every brick that writes on a host writes only under the host's managed folders.

For each writing brick: a path with '..', an absolute path elsewhere and a symlink that
leads out are refused with an error naming the input, and nothing appears outside; a
path inside works. The host home is <tmp>/h1, "outside" is <tmp>/outside.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from nebhx import BrickFailed, Context
from nebhx.runtime import HostRuntime
from nebhx_blocks.config.render import Render
from nebhx_blocks.lb.haproxy import BackendState, HAProxyBalancer
from nebhx_blocks.release.releases import Stage, Switch
from nebhx_blocks.service.launcher import RunService, StopService
from nebhx_blocks.storage.files import WriteFile
from nebhx_blocks.storage.volumes import Restore, Snapshot, Volume

PROFILES = {"app": {"values": {"port": 80}, "templates": {"app.conf": "port={{ port }}\n"}}}


@pytest.fixture
def ctx(tmp_path):
    return Context(runtime=HostRuntime("h1", tmp_path / "h1"))


@pytest.fixture
def home(ctx) -> Path:
    return ctx.runtime.home


@pytest.fixture
def outside(tmp_path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "keep.txt").write_text("operator data")
    return folder


def refused(param: str, brick, ctx, **inputs) -> BrickFailed:
    with pytest.raises(BrickFailed, match=rf"^{param}: ") as info:
        brick(ctx, **inputs)
    return info.value


def untouched(outside: Path) -> None:
    assert sorted(p.name for p in outside.rglob("*")) == ["keep.txt"]
    assert (outside / "keep.txt").read_text() == "operator data"


def link(at: Path, to: Path) -> Path:
    at.parent.mkdir(parents=True, exist_ok=True)
    at.symlink_to(to, target_is_directory=True)
    return at


def test_write_file(ctx, home, outside):
    vol = Volume()(ctx, host="h1", name="web")
    url = vol.volume_url
    refused("volume_url", WriteFile(), ctx, host="h1", volume_url=f"dir://h1{outside}", name="x")
    refused("volume_url", WriteFile(), ctx, host="h1", name="x",
            volume_url=f"dir://h1{home}/volumes/../../outside")
    evil = link(home / "volumes" / "evil", outside)
    err = refused("volume_url", WriteFile(), ctx, host="h1", volume_url=f"dir://h1{evil}", name="x")
    assert "outside this host's managed folders" in str(err)
    refused("volume_url", WriteFile(), ctx, host="h1", volume_url=f"btrfs://h1{outside}", name="x")
    refused("name", WriteFile(), ctx, host="h1", volume_url=url, name="../../../outside/x")
    refused("name", WriteFile(), ctx, host="h1", volume_url=url, name=str(outside / "x"))
    link(Path(vol.path) / "sub", outside)
    refused("name", WriteFile(), ctx, host="h1", volume_url=url, name="sub/x")
    untouched(outside)
    out = WriteFile()(ctx, host="h1", volume_url=url, name="site/index.html", content="hi")
    assert Path(out.path).read_text() == "hi" and out.path.startswith(vol.path)


def test_volume_btrfs_root(ctx, home, outside):
    refused("btrfs_root", Volume(), ctx, host="h1", name="pg", driver="btrfs", btrfs_root=str(outside))
    refused("btrfs_root", Volume(), ctx, host="h1", name="pg", driver="btrfs",
            btrfs_root=f"{home}/../outside")
    refused("btrfs_root", Volume(), ctx, host="h1", name="pg", driver="btrfs",
            btrfs_root=str(link(home / "mnt", outside)))
    untouched(outside)
    # Inside, the root passes the confinement and meets the next check: it is no btrfs.
    with pytest.raises(BrickFailed, match="not a directory on a btrfs filesystem"):
        Volume()(ctx, host="h1", name="pg", driver="btrfs", btrfs_root=str(home))


def test_managed_paths_setting_allows_a_folder(ctx, outside, monkeypatch):
    from nebhx.settings import reset_settings
    monkeypatch.setenv("NEBHX_HOST_MANAGED_PATHS", f"/nonexistent-nebhx:{outside}")
    reset_settings()
    try:
        runtime = HostRuntime("h1", ctx.runtime.home)
        assert runtime.confine(outside / "new", param="p") == outside.resolve() / "new"
        with pytest.raises(BrickFailed, match="NEBHX_HOST_MANAGED_PATHS"):
            runtime.confine(outside.parent / "elsewhere", param="p")
    finally:
        monkeypatch.delenv("NEBHX_HOST_MANAGED_PATHS")
        reset_settings()


def test_snapshot_and_restore(ctx, home, outside):
    vol = Volume()(ctx, host="h1", name="db")
    Path(vol.path, "f").write_text("1")
    evil = link(home / "volumes" / "evil", outside)
    for brick, extra in ((Snapshot(), {}), (Restore(), {"snapshot": "s1"})):
        refused("volume_url", brick, ctx, host="h1", volume_url=f"dir://h1{evil}", **extra)
        refused("volume_url", brick, ctx, host="h1", volume_url=f"btrfs://h1{outside}", **extra)
        refused("volume_url", brick, ctx, host="h1", volume_url=f"dir://h1{outside}", **extra)
        refused("volume_url", brick, ctx, host="h1", volume_url=f"dir://h1{home}/volumes/../../outside",
                **extra)
    untouched(outside)
    snap = Snapshot()(ctx, host="h1", volume_url=vol.volume_url, name="s1")
    Path(vol.path, "f").write_text("2")
    Restore()(ctx, host="h1", volume_url=vol.volume_url, snapshot=snap.snapshot)
    assert Path(vol.path, "f").read_text() == "1"


def test_release_stage_and_switch(ctx, home, outside, tmp_path):
    source = tmp_path / "app.txt"
    source.write_text("v1")  # reading a source outside the home is fine
    with pytest.raises(BrickFailed, match="invalid service name"):
        Stage()(ctx, host="h1", service="..", source=str(source))
    with pytest.raises(BrickFailed, match="invalid release id"):
        Stage()(ctx, host="h1", service="web", source=str(source), release_id="../../x")
    link(home / "services" / "evil", outside)
    refused("service", Stage(), ctx, host="h1", service="evil", source=str(source))
    refused("service", Switch(), ctx, host="h1", service="evil", release="r1")
    link(home / "services" / "api" / "releases", outside)
    refused("release_id", Stage(), ctx, host="h1", service="api", source=str(source), release_id="r1")
    untouched(outside)
    staged = Stage()(ctx, host="h1", service="web", source=str(source), release_id="r1")
    switched = Switch()(ctx, host="h1", service="web", release=staged.release)
    assert Path(switched.path).resolve() == Path(staged.path) and staged.path.startswith(str(home))


def test_config_render(ctx, home, outside):
    with pytest.raises(BrickFailed, match="invalid service name"):
        Render()(ctx, host="h1", service="../x", profiles=PROFILES, profile="app")
    link(home / "services" / "evil", outside)
    refused("service", Render(), ctx, host="h1", service="evil", profiles=PROFILES, profile="app")
    untouched(outside)
    out = Render()(ctx, host="h1", service="web", profiles=PROFILES, profile="app")
    assert Path(out.path, "app.conf").read_text() == "port=80\n" and out.path.startswith(str(home))


def test_service_run_and_stop(ctx, home, outside):
    run = dict(host="h1", service="web", command="sleep 60")
    refused("release_path", RunService(), ctx, **run, release_path=str(outside))
    refused("release_path", RunService(), ctx, **run, release_path=f"{home}/../outside")
    refused("release_path", RunService(), ctx, **run, release_path=str(link(home / "rel", outside)))
    link(home / "services" / "evil", outside)
    refused("service", RunService(), ctx, **{**run, "service": "evil"})
    refused("service", StopService(), ctx, host="h1", service="../../outside", remove=True)
    refused("service", StopService(), ctx, host="h1", service="evil", remove=True)
    untouched(outside)
    assert not (home / "supervisor" / "programs").exists(), "nothing may start when refused"
    inside = home / "services" / "web" / "releases" / "r1"
    inside.mkdir(parents=True)
    try:
        out = RunService()(ctx, **run, release_path=str(inside), start_secs=0)
        assert out.pid and Path(f"/proc/{out.pid}/cwd").resolve() == inside.resolve()
        assert StopService()(ctx, host="h1", service="web", remove=True).was_running
    finally:
        ctx.runtime.supervisor.shutdown()


def test_haproxy_names(ctx, home, outside):
    link(home / "haproxy" / "evil", outside)
    refused("name", HAProxyBalancer(), ctx, host="h1", name="evil", bind_port=18080,
            backends=["127.0.0.1:1"])
    refused("name", BackendState(), ctx, host="h1", name="evil", backend="127.0.0.1:1", state="drain")
    refused("name", BackendState(), ctx, host="h1", name="../../outside", backend="127.0.0.1:1",
            state="drain")
    refused("name", BackendState(), ctx, host="h1", name=str(outside), backend="127.0.0.1:1",
            state="drain")
    untouched(outside)
    assert not os.path.exists(home / "haproxy" / "lb1")
    with pytest.raises(BrickFailed, match="not running"):
        BackendState()(ctx, host="h1", name="lb1", backend="127.0.0.1:1", state="drain")
