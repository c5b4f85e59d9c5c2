"""cloudinit.user_data: layered profiles -> one validated cloud-config per machine -> NoCloud seed.

Runs the real `cloud-init schema` and `cloud-localds` (Debian cloud-init, cloud-image-utils).
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from nebhx import BrickFailed, Context
from nebhx.runtime import HostRuntime

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cloud-init-seeds.json"


def _need(cmd: str, package: str) -> None:
    if shutil.which(cmd) is None:
        pytest.fail(f"{cmd} is not installed: apt-get install -y {package} (deps/apt.txt lists it)")


@pytest.fixture(scope="module")
def brick():
    _need("cloud-init", "cloud-init")
    from nebhx.bricks.registry import load_registry
    reg = load_registry([ROOT / "blocks"])
    assert not [e for e in reg.errors if "cloudinit" in e.source], reg.errors
    return reg.get("cloudinit.user_data")()


@pytest.fixture
def ctx(tmp_path):
    return Context(runtime=HostRuntime("hv1", tmp_path / "hv1"))


def example_profiles() -> dict:
    graph = json.loads(EXAMPLE.read_text())
    return next(i for i in graph["inputs"] if i["name"] == "profiles")["default"]


def seed(brick, ctx, machine, profile, **kw):
    return brick(ctx, host="hv1", machine=machine, profiles=example_profiles(), profile=profile, **kw)


def test_three_machines_from_one_base_and_two_overrides(brick, ctx):
    _need("cloud-localds", "cloud-image-utils")
    web1 = seed(brick, ctx, "web1", "web")
    db1 = seed(brick, ctx, "db1", "db")
    db2 = seed(brick, ctx, "db2", "db")
    assert len({web1.version, db1.version, db2.version}) == 3
    docs = {}
    for out, name in ((web1, "web1"), (db1, "db1"), (db2, "db2")):
        folder = Path(out.path)
        assert (folder / "user-data").read_text().startswith("#cloud-config\n")
        docs[name] = yaml.safe_load((folder / "user-data").read_text())
        meta = yaml.safe_load((folder / "meta-data").read_text())
        assert meta["local-hostname"] == name and meta["instance-id"].startswith(name + "-")
        assert (folder / "user-data").stat().st_mode & 0o077 == 0
        # The ISO really is a NoCloud drive: volume label cidata, both files inside.
        iso = Path(out.iso)
        listing = subprocess.run(["isoinfo", "-d", "-i", str(iso)], capture_output=True, text=True)
        if listing.returncode == 0:
            assert "CIDATA" in listing.stdout.upper()
        assert b"cidata" in iso.read_bytes()[:64 * 1024].lower()
    base_users = docs["web1"]["users"]
    assert docs["db1"]["users"] == base_users == docs["db2"]["users"]  # from the base
    assert "nginx" in docs["web1"]["packages"] and "postgresql" in docs["db1"]["packages"]
    assert docs["db2"]["timezone"] != docs["db1"]["timezone"]  # db2's own override

    # Provenance: explain says which layer set each key.
    assert db2.explain["timezone"]["layer"] == "db@host:db2"
    assert db2.explain["timezone"]["overrode"][0]["layer"] == "vm-base"
    assert db1.explain["timezone"]["layer"] == "vm-base"
    assert web1.explain["packages"]["layer"] == "web"


def test_same_config_is_written_once_and_a_change_is_a_new_instance(brick, ctx):
    first = seed(brick, ctx, "web1", "web")
    again = seed(brick, ctx, "web1", "web")
    assert first.changed and not again.changed and again.version == first.version
    profiles = example_profiles()
    profiles["web"]["values"]["packages"] = ["nginx", "curl"]
    changed = brick(ctx, host="hv1", machine="web1", profiles=profiles, profile="web")
    assert changed.changed and changed.version != first.version
    old_id = yaml.safe_load((Path(first.path) / "meta-data").read_text())["instance-id"]
    new_id = yaml.safe_load((Path(changed.path) / "meta-data").read_text())["instance-id"]
    assert old_id != new_id


def test_invalid_cloud_config_is_refused_by_cloud_init_and_nothing_written(brick, ctx):
    profiles = example_profiles()
    profiles["web"]["values"]["runcmd"] = "not a list"
    profiles["web"]["values"]["users"] = 42
    with pytest.raises(BrickFailed, match="cloud-init schema.*(runcmd|users)"):
        brick(ctx, host="hv1", machine="web1", profiles=profiles, profile="web")
    with pytest.raises(BrickFailed, match="cloud-init's schema.*runcmd: 'not a list' is not of type 'array'"):
        brick.plan(ctx, brick.Inputs(host="hv1", machine="web1", profiles=profiles, profile="web"))
    assert not (ctx.runtime.home / "cloudinit" / "web1").exists() or not any(
        (ctx.runtime.home / "cloudinit" / "web1").iterdir())


def test_bad_machine_name_and_wrong_host_are_clear_errors(brick, ctx):
    with pytest.raises(BrickFailed, match="not a host name"):
        brick(ctx, host="hv1", machine="../etc", profiles=example_profiles(), profile="web")
    with pytest.raises(BrickFailed, match="for host 'hv2' but runs on 'hv1'"):
        brick(ctx, host="hv2", machine="web1", profiles=example_profiles(), profile="web")
    with pytest.raises(BrickFailed, match="unknown profile 'nope'"):
        brick(ctx, host="hv1", machine="web1", profiles=example_profiles(), profile="nope")


def test_plan_tells_the_version_and_writes_nothing(brick, ctx):
    inputs = brick.Inputs(host="hv1", machine="db2", profiles=example_profiles(), profile="db")
    plan = brick.plan(ctx, inputs)
    assert plan["changes"] is True and "write seed" in plan["effect"]
    assert not (ctx.runtime.home / "cloudinit").exists()
    out = brick.run(ctx, inputs)
    assert out.version == plan["outputs"]["version"]
    assert brick.plan(ctx, inputs)["changes"] is False


def test_palette_entry(brick):
    from nebhx.bricks.registry import brick_spec
    spec = brick_spec(type(brick))
    assert spec["category"] == "config" and spec["host_input"] == "host"
    assert len(spec["docs"]) > 300 and brick.plans()
