"""Admin labels: only an admin sets them, the audit names who, selectors match them, and an
agent registering again does not undo them."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from nebhx import Context
from support import TEST_BLOCKS

PATH = "/api/hosts/h1/labels"


def _token(name: str, role: str) -> dict[str, str]:
    from nebhx.auth import service
    from nebhx.store.db import session_scope
    with session_scope() as s:
        service.create_user(s, name=name, password="correct horse", role=role)
        return {"Authorization": "Bearer " + service.create_token(s, owner=name, name="test").token}


def _register(labels: dict[str, str]) -> None:
    """What the execution API's /register does when the agent of h1 starts (again)."""
    from nebhx.hosts import service
    from nebhx.store.db import session_scope
    with session_scope() as s:
        service.heartbeat(s, name="h1", address="10.0.0.1", labels=labels, version="t", started=True)


@pytest.fixture
def api(db_url, monkeypatch, tmp_path):
    """The API with sign-in required, host h1 registered with role=db, zone=a."""
    from nebhx.auth import ratelimit
    from nebhx.settings import reset_settings
    for k, v in {"NEBHX_HOME": str(tmp_path), "NEBHX_DATABASE_URL": db_url,
                 "NEBHX_BLOCKS_PATH": str(TEST_BLOCKS), "NEBHX_AUTH": "required"}.items():
        monkeypatch.setenv(k, v)
    reset_settings()
    ratelimit.reset()
    from nebhx.api.app import create_app
    with TestClient(create_app(), base_url="http://127.0.0.1:8750", raise_server_exceptions=False) as c:
        _register({"role": "db", "zone": "a"})
        yield c
    reset_settings()


def test_only_an_admin_sets_labels_and_the_audit_names_them(api):
    ada, olga, vera = _token("ada", "admin"), _token("olga", "operator"), _token("vera", "viewer")
    for who, name in ((olga, "olga is operator"), (vera, "vera is viewer")):
        resp = api.patch(PATH, json={"set": {"role": "web"}}, headers=who)
        assert resp.status_code == 403 and name in resp.json()["detail"]
    resp = api.patch(PATH, json={"set": {"role": "web", "canary": "yes"}}, headers=ada)
    assert resp.status_code == 200, resp.text
    host = {h["name"]: h for h in api.get("/api/hosts", headers=olga).json()}["h1"]
    assert host["labels"] == {"role": "web", "zone": "a", "canary": "yes"} == resp.json()["labels"]
    assert host["label_sources"] == {"role": "admin", "zone": "agent", "canary": "admin"}
    assert host["agent_labels"] == {"role": "db", "zone": "a"}
    rows = api.get("/api/audit", params={"action": "hosts.patch_labels"}, headers=ada).json()
    assert [(r["actor"], r["target"], r["data"]) for r in rows] == [
        ("ada", PATH, {"status": 200, "host": "h1", "set": {"role": "web", "canary": "yes"}, "remove": []}),
        ("vera", PATH, {"status": 403}), ("olga", PATH, {"status": 403})]


def test_bad_keys_values_and_unknown_hosts_are_refused(api):
    ada = _token("ada", "admin")
    for body in ({"set": {"role web": "x"}}, {"set": {"role": "a b"}}, {"remove": ["(x)"]},
                 {"set": {f"k{i}": "v" for i in range(101)}}):
        assert api.patch(PATH, json=body, headers=ada).status_code == 422, body
    both = api.patch(PATH, json={"set": {"role": "web"}, "remove": ["role"]}, headers=ada)
    assert both.status_code == 422 and "remove: role also in set" in str(both.json()["detail"])
    resp = api.patch("/api/hosts/h9/labels", json={"set": {"role": "web"}}, headers=ada)
    assert resp.status_code == 404 and "no host 'h9'" in resp.json()["detail"]


def test_the_selector_matches_admin_labels_and_a_re_register_keeps_them(api):
    from nebhx.bricks.registry import get_registry
    from nebhx.engine.inventory import StoreInventory
    ada = _token("ada", "admin")
    assert api.patch(PATH, json={"set": {"role": "web"}}, headers=ada).status_code == 200
    _register({"role": "db", "zone": "b"})  # the agent restarts, still declaring role=db
    select = get_registry().get("hosts.select")()
    out = select(Context(inventory=StoreInventory()), selector="role=web,zone=b")
    assert out.hosts == ["h1"]
    assert not StoreInventory().select("role=db")
    # Removed, the agent's own value shows again.
    resp = api.patch(PATH, json={"remove": ["role"]}, headers=ada)
    assert resp.json()["labels"] == {"role": "db", "zone": "b"} and resp.json()["label_sources"]["role"] == "agent"
    assert [h.name for h in StoreInventory().select("role=db")] == ["h1"]


def test_cli_label_and_list_show_the_source(api, monkeypatch):
    from nebhx.cli import runs, users
    from nebhx.cli.main import app
    ada = _token("ada", "admin")

    def call(method, path, **kw):
        resp = api.request(method, "/api" + path, headers=ada, **kw)
        assert resp.status_code < 400, resp.text
        return resp.json()
    monkeypatch.setattr(users, "call", call)
    monkeypatch.setattr(runs, "call", call)
    runner = CliRunner()
    res = runner.invoke(app, ["hosts", "label", "h1", "role=web", "tier=1"])
    assert res.exit_code == 0 and "host h1: role=web (admin), zone=a, tier=1 (admin)" in res.output
    res = runner.invoke(app, ["hosts", "label", "h1", "--remove", "tier"])
    assert res.exit_code == 0 and "tier" not in res.output
    res = runner.invoke(app, ["hosts"], env={"COLUMNS": "200"})
    assert "role=web (admin), zone=a" in res.output
    _register({"zone": "[bold]a"})  # stored before agents' labels were checked: shown as given
    res = runner.invoke(app, ["hosts"], env={"COLUMNS": "200"})
    assert "zone=[bold]a" in res.output
    assert runner.invoke(app, ["hosts", "label", "h1", "role"]).exit_code == 2
    res = runner.invoke(app, ["hosts", "label", "h1", "zone=[red]x"])
    assert res.exit_code == 2 and "label 'zone=[red]x' is not key=value" in res.output
    res = runner.invoke(app, ["hosts", "add", "h9", "--label", "bad key=x"])
    assert res.exit_code == 2 and "label 'bad key=x'" in res.output
