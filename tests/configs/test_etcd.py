"""Config profiles in etcd: read by config.profiles, explained with their etcd revision, and an
etcd trigger that re-runs the graph rendering and applying them on every change, restarting only
the service whose rendered files changed. A private etcd (Debian etcd-server) on free ports."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from etcd_support import PREFIX, EtcdServer, etcd_graph, greeting, profiles

from nebhx import BrickFailed, Context
from nebhx.runtime.etcd import Etcd
from nebhx.runtime import HostRuntime
from support import Stack, free_port, make_env, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    server = EtcdServer(tmp_path_factory.mktemp("etcd"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bricks():
    from nebhx.bricks.registry import load_registry
    reg = load_registry([ROOT / "blocks"])
    return {b: reg.get(b)() for b in ("config.profiles", "config.render")}


def test_profiles_from_etcd_and_explain_names_the_revision(etcd, bricks, tmp_path):
    revs = {name: etcd.put(name, doc) for name, doc in profiles().items()}
    out = bricks["config.profiles"](Context(), store="etcd", etcd_url=etcd.url)
    assert {n: out.revisions[n] for n in revs} == revs
    assert out.profiles["conf-a"]["values"] == {"greeting": "hello a"}
    ctx = Context(runtime=HostRuntime("h1", tmp_path / "h1"))
    rendered = bricks["config.render"](ctx, host="h1", service="conf-a", profile="conf-a",
                                       profiles=out.profiles, sources=out.sources)
    entry = rendered.explain["greeting"]
    assert entry["layer"] == "conf-a"
    assert entry["source"] == f"etcd {etcd.url} {PREFIX}conf-a mod_revision {revs['conf-a']}"
    assert json.loads(Path(rendered.path, "app.json").read_text()) == {"greeting": "hello a"}


def test_bad_etcd_content_and_a_dead_endpoint_are_clear_errors(etcd, bricks):
    Etcd(etcd.url).put("/nbx-bad/profiles/broken", "{not json")
    with pytest.raises(BrickFailed, match=r"etcd key /nbx-bad/profiles/broken \(revision \d+\) is not a JSON profile"):
        bricks["config.profiles"](Context(), store="etcd", etcd_url=etcd.url, etcd_prefix="/nbx-bad/profiles/")
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BrickFailed, match=f"etcd at {dead} cannot be reached"):
        bricks["config.profiles"](Context(), store="etcd", etcd_url=dead)
    with pytest.raises(BrickFailed, match="no stored config profile 'nope' in the etcd"):
        bricks["config.profiles"](Context(), store="etcd", etcd_url=etcd.url, names=["nope"])


def test_a_bad_etcd_trigger_is_refused_naming_the_field():
    from nebhx.triggers.schedule import check_triggers
    doc = {"inputs": [], "meta": {"triggers": [{"name": "t", "kind": "etcd", "endpoint": "etcd:2379"}]}}
    problems = {p.path: p.message for p in check_triggers(doc)}
    assert "prefix" in problems["/meta/triggers/0/prefix"]
    assert "not an http(s) URL" in problems["/meta/triggers/0/endpoint"]
    doc["meta"]["triggers"][0].pop("endpoint")
    problems = {p.path: p.message for p in check_triggers(doc)}
    assert "set NEBHX_CONFIG_ETCD_URL" in problems["/meta/triggers/0/endpoint"]


@pytest.fixture(scope="module")
def stack(etcd, tmp_path_factory):
    home = tmp_path_factory.mktemp("etcd-stack")
    s = Stack(home, make_env(home, NEBHX_SWEEP_INTERVAL_S="0.2", NEBHX_CONFIG_ETCD_URL=etcd.url)).start()
    yield s
    s.stop()


def runs_of(stack, trigger: str) -> list[dict]:
    with stack.client() as c:
        return [r for r in c.get("/runs").json() if (r.get("trigger") or {}).get("name") == trigger]


def trigger_run(stack, trigger: str, after: int) -> dict:
    """The run the trigger started after ``after`` runs, once finished."""
    def started():
        with stack.client() as c:
            mine = [r for r in c.get("/runs").json() if r["graph_name"] == "conf-etcd"]
        return len(mine) > after and mine[0]
    run = wait_for(started, 60, 0.1, what=f"run {after + 1} of the etcd trigger")
    return stack.wait_run(run["id"], 120)


def test_an_etcd_change_reapplies_and_restarts_only_the_affected_service(etcd, stack):
    ports = {"a": free_port(), "b": free_port()}
    for name, doc in profiles().items():
        etcd.put(name, doc)
    with stack.client() as c:
        assert c.post("/graphs", json=etcd_graph(etcd.url, ports, trigger="t-restart")).status_code == 201
    # The watch starts within a sweep; until then changes are caught up from the revision it saw.
    wait_for(lambda: _watching(stack, "t-restart"), 30, 0.1, what="the etcd watch started")
    etcd.put("conf-a", profiles()["conf-a"])  # a no-op write still bumps the revision: first apply
    first = trigger_run(stack, "t-restart", 0)
    assert first["status"] == "succeeded", {k: n["error"] for k, n in first["nodes"].items() if n["error"]}
    assert (greeting(ports["a"]), greeting(ports["b"])) == ("hello a", "hello b")
    pids = {s: first["nodes"][f"switch_{s}"]["outputs"]["pid"] for s in "ab"}

    rev = etcd.put("conf-a", profiles(greeting_a="bonjour a")["conf-a"])
    second = trigger_run(stack, "t-restart", 1)
    assert second["status"] == "succeeded"
    assert second["trigger"]["kind"] == "etcd" and second["trigger"]["revision"] == rev
    assert second["trigger"]["keys"] == [f"{PREFIX}conf-a"]
    a, b = second["nodes"]["switch_a"]["outputs"], second["nodes"]["switch_b"]["outputs"]
    assert a["restarted"] and a["pid"] != pids["a"] and greeting(ports["a"]) == "bonjour a"
    assert not b["changed"] and b["pid"] == pids["b"]  # b's files are the same: untouched
    explain = second["nodes"]["explain_a"]["outputs"]["explain"]["greeting"]
    assert explain["source"].endswith(f"{PREFIX}conf-a mod_revision {rev}")

    # A value no template of b uses: a new config version, the same files, no restart.
    etcd.put("conf-b", profiles(note_b="changed")["conf-b"])
    third = trigger_run(stack, "t-restart", 2)
    b = third["nodes"]["switch_b"]["outputs"]
    assert third["status"] == "succeeded" and not b["restarted"] and b["pid"] == pids["b"]
    assert not third["nodes"]["switch_a"]["outputs"]["changed"]
    with stack.client() as c:
        listed = next(t for t in c.get("/triggers").json() if t["name"] == "t-restart")
    assert listed["kind"] == "etcd" and listed["etcd"]["prefix"] == PREFIX
    assert listed["etcd"]["last_run_id"] == third["id"] and listed["etcd"]["last_revision"] == third["trigger"]["revision"]


def _watching(stack, trigger: str) -> bool:
    """The watch has recorded its first revision (the trigger's progress row exists)."""
    import sqlalchemy as sa
    engine = sa.create_engine(f"sqlite:///{stack.home / 'nebhx.db'}")
    with engine.connect() as conn:
        row = conn.execute(sa.text("select last_tick from trigger_schedules where name = :n"),
                           {"n": trigger}).first()
    engine.dispose()
    return row is not None


def test_explain_from_etcd_through_the_api(etcd, stack):
    rev = etcd.put("conf-b", profiles(greeting_b="hej b")["conf-b"])
    with stack.client() as c:
        resp = c.get("/config/profiles/conf-b/explain", params={"store": "etcd", "host": "h9"})
        missing = c.get("/config/profiles/nope/explain", params={"store": "etcd"})
    assert resp.status_code == 200, resp.text
    entry = resp.json()["explain"]["greeting"]
    assert entry["value"] == "hej b" and entry["source"] == f"etcd {etcd.url} {PREFIX}conf-b mod_revision {rev}"
    assert missing.status_code == 404 and "no config profile 'nope' in etcd" in missing.text
