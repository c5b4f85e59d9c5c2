"""A rollout over an overlay volume, on the real thing: the example app under supervisord,
rollout.switch snapshots the volume (the snapshot names the release it was taken from) and
rollout.rollback restores it, remounting the volume on the snapshot's layers."""
from __future__ import annotations

import http.client
import json
import shutil
import sys
from pathlib import Path

import pytest
from volume_support import unmount_under

from nebhx import Context
from nebhx.bricks.registry import load_registry
from nebhx.runtime import HostRuntime

ROOT = Path(__file__).resolve().parents[2]
PALETTE = load_registry([ROOT / "blocks"])
CMD = f"{sys.executable} {{release}}/webapp.py --port {{port}} --config {{config}}/app.json --data {{data}}"
PROFILES = {"web": {"values": {"greeting": "hi"}, "templates": {"app.json": '{"greeting": "{{ greeting }}"}\n'}}}
HOOK = "    args = ap.parse_args(argv)\n"
WRITES_ROWS = '    (args.data / "rows.txt").open("a").write("row written by 2.0.0\\n")\n'


def run(brick_id: str, rt: HostRuntime, **inputs):
    return PALETTE.get(brick_id)()(Context(runtime=rt, host="h1"), host="h1", **inputs)


def release(rt: HostRuntime, tmp: Path, version: str, at_start: str = "") -> tuple[str, str]:
    src = tmp / f"src-{version}"
    shutil.copytree(ROOT / "examples" / "app", src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "VERSION").write_text(version + "\n")
    (src / "webapp.py").write_text((src / "webapp.py").read_text().replace(HOOK, HOOK + at_start))
    out = run("rollout.prepare", rt, service="web", release_id=version, source=str(src),
              profiles=PROFILES, profile="web")
    return out.release_id, out.config_version


def get(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


@pytest.fixture
def rt(tmp_path):
    rt = HostRuntime("h1", tmp_path / "h1")
    rt.address = "127.0.0.1"
    yield rt
    rt.supervisor.shutdown()
    unmount_under(tmp_path)


def test_switch_snapshots_an_overlay_volume_and_rollback_restores_it(rt, tmp_path):
    from support import free_port
    port = free_port()
    vol = rt.volumes.create("web-pg", "overlay")
    url = vol.url("h1")
    (vol.path / "message.txt").write_text("v1 data\n")
    v1, c1 = release(rt, tmp_path, "1.0.0")
    common = dict(service="web", command=CMD, port=port, volume=url, ready_http="/health", ready_timeout_s=15)
    run("rollout.switch", rt, release_id=v1, config_version=c1, **common)
    v2, c2 = release(rt, tmp_path, "2.0.0", at_start=WRITES_ROWS)
    sw = run("rollout.switch", rt, release_id=v2, config_version=c2, **common)
    assert sw.snapshot and (vol.path / "rows.txt").exists() and get(port)["version"] == "2.0.0"
    snap = rt.volumes.get_snapshot(url, sw.snapshot)
    assert (snap.kind, snap.release) == ("pre-rollout", "1.0.0")

    out = run("rollout.rollback", rt, service="web", data_policy="restore_snapshot")
    assert out.restored_snapshot == sw.snapshot and out.pre_restore.startswith("pre-restore-")
    body = get(port)
    assert (body["version"], body["message"]) == ("1.0.0", "v1 data")
    assert not (vol.path / "rows.txt").exists()
    [row] = rt.volumes.view("h1")
    # The first switch's snapshot (nothing ran before it), the one 2.0.0 replaced, the rollback's.
    assert [(s["id"], s["release"]) for s in row["snapshots"]][1:] == [(sw.snapshot, "1.0.0"), (out.pre_restore, None)]
    rt.supervisor.stop("web")  # before the mount goes away
