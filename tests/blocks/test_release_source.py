"""release.stage and rollout.prepare take one port group for the release they stage
(blocks/release/source.py): the same ports, checks and palette text, and the same release
staged from the same source."""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from nebhx import Context
from nebhx.runtime import HostRuntime

BLOCKS = Path(__file__).resolve().parents[2] / "blocks"
SHARED = ("host", "service", "source", "sha256", "release_id")


@pytest.fixture(scope="module")
def reg():
    from nebhx.bricks.registry import load_registry
    reg = load_registry([BLOCKS])
    assert not [e for e in reg.errors if "release" in e.source or "rollout" in e.source], reg.errors
    return reg


def test_both_bricks_declare_the_release_source_ports_alike(reg):
    stage, prepare = reg.get("release.stage"), reg.get("rollout.prepare")
    schemas = [b.Inputs.model_json_schema() for b in (stage, prepare)]
    for port in SHARED:
        assert schemas[0]["properties"][port] == schemas[1]["properties"][port], port
        assert (port in schemas[0].get("required", [])) == (port in schemas[1].get("required", []))
    assert stage.requires == prepare.requires  # an http(s) source needs its sha256 in both
    palette = {b["id"]: {p["name"]: p for p in b["inputs"]} for b in reg.palette()["bricks"]
               if b["id"] in ("release.stage", "rollout.prepare")}
    assert all(palette["release.stage"][p] == palette["rollout.prepare"][p] for p in SHARED)


def test_the_same_source_stages_the_same_release(reg, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("bin/app")
        info.size = 5
        tf.addfile(info, io.BytesIO(b"hello"))
    archive = tmp_path / "app.tgz"
    archive.write_bytes(buf.getvalue())
    staged = {}
    for brick_id in ("release.stage", "rollout.prepare"):
        brick = reg.get(brick_id)()
        ctx = Context(runtime=HostRuntime("h1", tmp_path / brick_id))
        out = brick.run(ctx, brick.Inputs(host="h1", service="web", source=str(archive)))
        staged[brick_id] = out.release if brick_id == "release.stage" else out.release_id
        app = tmp_path / brick_id / "services" / "web" / "releases" / staged[brick_id] / "bin" / "app"
        assert app.read_bytes() == b"hello"
    assert staged["release.stage"] == staged["rollout.prepare"]
