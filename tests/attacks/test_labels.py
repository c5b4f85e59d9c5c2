"""Issue 18, finding 6: labels that select hosts are trusted.

An agent declares its labels when it registers; host d2 declared ``name=d1`` and
``hosts.select name=d1`` picked both hosts, and any ``role=...`` group could be joined by a
host's own declaration. Identity keys (``name``, and the keys in NEBHX_RESERVED_LABELS) are
never taken from an agent; with NEBHX_LABEL_APPROVAL=required an agent's labels reach
selectors only once an admin approved them (and a changed value needs approval again).
"""
from __future__ import annotations

from apikit import add_host, add_user, bearer

from nebhx.engine.inventory import StoreInventory


def _register(api, token: str, **labels: str) -> None:
    answer = api.post("/api/exec/register", json={"address": "10.0.0.9", "labels": labels}, headers=bearer(token))
    assert answer.status_code == 204, answer.text


def _picked(selector: str) -> list[str]:
    return [h.name for h in StoreInventory().select(selector)]


def test_an_agent_cannot_claim_another_hosts_name(secured):
    d1, d2 = add_host("d1"), add_host("d2")
    admin = add_user("admin1", "admin")
    _register(secured, d1, role="web")
    _register(secured, d2, role="web", name="d1")
    assert _picked("name=d1") == ["d1"]
    assert _picked("name=d2") == ["d2"]
    hosts = {h["name"]: h for h in secured.get("/api/hosts", headers=bearer(admin)).json()}
    assert hosts["d2"]["labels"] == {"role": "web"}
    assert hosts["d2"]["held_labels"] == {"name": "reserved"}, hosts["d2"]
    assert hosts["d2"]["agent_labels"] == {"role": "web", "name": "d1"}  # what it declared, shown


def test_reserved_keys_come_only_from_an_admin(secured, app_env):
    from nebhx.settings import reset_settings
    app_env.setenv("NEBHX_RESERVED_LABELS", "role, tier")
    reset_settings()
    d1, d2 = add_host("d1"), add_host("d2")
    admin = add_user("admin1", "admin")
    _register(secured, d1, zone="a")
    _register(secured, d2, role="web", zone="a")  # joins the web group by its own word
    assert _picked("role=web") == []
    assert _picked("zone=a") == ["d1", "d2"]
    answer = secured.patch("/api/hosts/d1/labels", json={"set": {"role": "web"}}, headers=bearer(admin))
    assert answer.status_code == 200, answer.text
    assert _picked("role=web") == ["d1"]


def test_agent_labels_wait_for_approval_when_required(secured, app_env):
    from nebhx.settings import reset_settings
    app_env.setenv("NEBHX_LABEL_APPROVAL", "required")
    reset_settings()
    d1 = add_host("d1")
    admin, viewer = add_user("admin1", "admin"), add_user("viewer1", "viewer")
    _register(secured, d1, role="web", zone="a")
    assert _picked("role=web") == [] and _picked("zone=a") == []
    host = next(h for h in secured.get("/api/hosts", headers=bearer(admin)).json() if h["name"] == "d1")
    assert host["held_labels"] == {"role": "unapproved", "zone": "unapproved"}
    refused = secured.post("/api/hosts/d1/labels/approve", json={}, headers=bearer(viewer))
    assert refused.status_code == 403
    answer = secured.post("/api/hosts/d1/labels/approve", json={"keys": ["role"]}, headers=bearer(admin))
    assert answer.status_code == 200, answer.text
    assert answer.json()["labels"] == {"role": "web"} and answer.json()["held_labels"] == {"zone": "unapproved"}
    assert _picked("role=web") == ["d1"]
    _register(secured, d1, role="db", zone="a")  # a changed value is a new claim
    assert _picked("role=web") == [] and _picked("role=db") == []
    audit = secured.get("/api/audit", params={"action": "hosts.approve_labels"}, headers=bearer(admin)).json()
    assert audit and audit[0]["actor"] == "admin1" and audit[0]["data"]["approved"] == {"role": "web"}, audit
