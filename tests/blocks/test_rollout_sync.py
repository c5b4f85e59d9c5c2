"""The synchronous switch (rollout.barrier, rollout.switch not_before, rollout.skew), the
rollout report and the releases view of a host, on real supervisord and the example app."""
from __future__ import annotations

import http.client
import json
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

from nebhx import BrickFailed, Context
from nebhx.bricks.registry import load_registry
from nebhx.runtime import HostRuntime
from nebhx.runtime.services import snapshot
from support import free_port
from test_rollout import CRASHES
from test_rollout_rest import HOSTS, fleet  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[2]
PALETTE = load_registry([ROOT / "blocks"])
CMD = f"{sys.executable} {{release}}/webapp.py --port {{port}} --config {{config}}/app.json --data {{data}}"
PROFILES = {"web": {"values": {"greeting": "hello"}, "templates": {"app.json": '{"greeting": "{{ greeting }}"}\n'}}}


def brick(bid: str):
    return PALETTE.get(bid)()


def version_at(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/")
        return json.loads(conn.getresponse().read())["version"]
    finally:
        conn.close()


@pytest.fixture
def rt(tmp_path):
    runtime = HostRuntime("h1", tmp_path / "h1")
    runtime.address = "127.0.0.1"
    yield runtime
    runtime.supervisor.shutdown()


def prepare(rt: HostRuntime, tmp: Path, version: str) -> str:
    src = tmp / f"src-{version}"
    shutil.copytree(ROOT / "examples" / "app", src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "VERSION").write_text(version + "\n")
    return brick("rollout.prepare")(Context(runtime=rt, host="h1"), host="h1", service="web",
                                    source=str(src), release_id=version, profiles=PROFILES,
                                    profile="web").config_version


def switch(rt: HostRuntime, inst: str, port: int, release: str, config: str, **kw):
    rt.volumes.create(f"data-{inst}")
    return brick("rollout.switch")(Context(runtime=rt, host="h1"), host="h1", service="web", instance=inst,
                                   release_id=release, config_version=config, command=CMD, port=port,
                                   volume=f"data-{inst}", ready_http="/health", **kw)


def test_the_barrier_sets_a_moment_after_every_host_is_prepared():
    ctx = Context()
    before = time.time()
    out = brick("rollout.barrier")(ctx, prepared=["2.0.0"] * 4, delay_s=1.5)
    assert before + 1.5 <= out.not_before <= time.time() + 1.5 and out.hosts_prepared == 4
    with pytest.raises(BrickFailed, match=r"items \[2\] of the prepare fan-out did not succeed"):
        brick("rollout.barrier")(ctx, prepared=["2.0.0", "2.0.0", None], delay_s=1)


def test_skew_is_latest_minus_earliest_switch_and_a_missing_host_fails():
    out = brick("rollout.skew")(Context(), hosts=["h1", "h2", "h3"], switched_at=[10.004, 10.001, 10.012])
    assert (out.skew_ms, out.first, out.last) == (11.0, "h2", "h3")
    assert out.switched_at == {"h1": 10.004, "h2": 10.001, "h3": 10.012}
    with pytest.raises(BrickFailed, match="a host did not switch: h2"):
        brick("rollout.skew")(Context(), hosts=["h1", "h2"], switched_at=[1.0, None])


def test_the_report_names_the_hosts_and_leaves_failed_items_out():
    out = brick("rollout.report")(Context(), hosts=["h1"], lines=["h1: web 1 -> 2", None],
                                  template="{{ hosts | join(',') }}: {{ lines | join(';') }} ({{ failed }} failed)")
    assert out.text == "h1: h1: web 1 -> 2 (1 failed)"
    with pytest.raises(BrickFailed, match="nope"):
        brick("rollout.report")(Context(), template="{{ nope }}")


def test_instances_switch_together_at_not_before_and_the_releases_view_follows(rt, tmp_path):
    ports = {"a": free_port(), "b": free_port()}
    config = prepare(rt, tmp_path, "1.0.0")
    prepare(rt, tmp_path, "2.0.0")
    for inst, port in ports.items():
        switch(rt, inst, port, "1.0.0", config)
    at = time.time() + 1.0
    outs = {}
    threads = [threading.Thread(target=lambda i=i, p=p: outs.__setitem__(i, switch(rt, i, p, "2.0.0", config,
                                                                                   not_before=at)))
               for i, p in ports.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    times = [o.switched_at for o in outs.values()]
    assert min(times) >= at and max(times) - min(times) < 0.1, (at, times)
    assert all(o.steps[[s["step"] for s in o.steps].index("wait") + 1]["step"] == "switch" for o in outs.values())
    assert outs["a"].summary.startswith("h1: web-a 1.0.0 -> 2.0.0 (config ")
    assert {version_at(p) for p in ports.values()} == {"2.0.0"}
    back = brick("rollout.rollback")(Context(runtime=rt, host="h1"), host="h1", service="web", instance="a")
    assert back.summary == "h1: web-a rolled back from 2.0.0 to 1.0.0 (data: keep_new)"
    rows = {r["program"]: r for r in snapshot(rt)}
    a, b = rows["web-a"], rows["web-b"]
    assert a["rollout"]["phase"] == "rolled_back" and b["rollout"]["phase"] == "switched"
    assert "spec" not in a["rollout"]  # the journal's program spec holds the environment
    flags = {r["id"]: r for r in a["releases"]}
    assert flags["2.0.0"]["rolled_back"] and not flags["1.0.0"]["rolled_back"]
    assert [r["id"] for r in a["releases"]] == ["1.0.0", "2.0.0"]
    # Active is what each instance runs (the `current` link is one per service and host).
    assert {r["id"] for r in b["releases"] if r["active"]} == {"2.0.0"}
    assert a["last_probe"]["ok"] and version_at(ports["a"]) == "1.0.0"


def test_a_synchronous_switch_is_all_or_nothing(fleet):  # noqa: F811 - the fixture
    """Four hosts switch at one moment; h3's release cannot start there: it goes back by itself,
    and the group rollback (the example's any_failed branch) takes every other host back."""
    f = fleet
    for h in HOSTS:
        f.prepare(h, "2.0.0", at_start=CRASHES if h == "h3" else "")
    at, outs = time.time() + 1.0, {}

    def one(h: str) -> None:
        try:
            outs[h] = f.switch(h, "run-2", not_before=at, max_restarts=0)
        except BrickFailed as exc:
            outs[h] = exc
    threads = [threading.Thread(target=one, args=(h,)) for h in HOSTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert isinstance(outs["h3"], BrickFailed) and "rolled_back: true" in str(outs["h3"])
    assert [f.version(h) for h in HOSTS] == ["2.0.0", "2.0.0", "1.0.0", "2.0.0"]
    back = {h: f.rollback(h, "run-2", only_this_run=True) for h in HOSTS}  # all at once in the example
    assert [f.version(h) for h in HOSTS] == ["1.0.0"] * 4
    assert [back[h].rolled_back_host for h in HOSTS] == list(HOSTS)


def test_a_host_that_comes_after_the_moment_is_refused_and_changes_nothing(fleet):  # noqa: F811
    f = fleet
    f.prepare("h1", "2.0.0")
    pid = f.rts["h1"].supervisor.status("web").pid
    journal = (f.rts["h1"].home / "services/web/rollout/default.json").read_text()
    with pytest.raises(BrickFailed, match=r"the switch moment passed .* late_s 0.5 s.*nothing was changed"):
        f.switch("h1", "run-2", not_before=time.time() - 2)
    assert f.version("h1") == "1.0.0" and f.rts["h1"].supervisor.status("web").pid == pid
    assert (f.rts["h1"].home / "services/web/rollout/default.json").read_text() == journal
    left = f.rollback("h1", "run-2", only_this_run=True)
    assert not left.rolled_back and f.version("h1") == "1.0.0"
