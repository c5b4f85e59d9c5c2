"""A host answers only the plan that asked it: through the execution API with its own token,
for the request it was sent; another host's token, a user's token or a plan that ended are
refused, and a host that never answers is told after the deadline."""
from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from support import TEST_BLOCKS, wait_for


@pytest.fixture
def api(db_url, monkeypatch, tmp_path):
    from nebhx.api.app import create_app
    from nebhx.auth.service import add_host
    from nebhx.settings import reset_settings
    from nebhx.store.db import session_scope
    from nebhx.store.models import HostRow, WorkerRow, utcnow
    for key, value in {"NEBHX_HOME": str(tmp_path), "NEBHX_DATABASE_URL": db_url,
                       "NEBHX_BLOCKS_PATH": str(TEST_BLOCKS)}.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    client = TestClient(create_app(), base_url="http://127.0.0.1:8750", raise_server_exceptions=False)
    with client, session_scope() as s:
        tokens = {h: add_host(s, name=h, labels={}, server="http://127.0.0.1:8750").token for h in ("h1", "h2")}
        for h in tokens:
            s.merge(HostRow(name=h, labels={}, last_seen=utcnow()))
            s.merge(WorkerRow(id=f"{h}:w", host=h, last_seen=utcnow()))
    with client:
        yield client, tokens
    reset_settings()


def test_only_the_host_asked_answers_and_only_while_the_plan_waits(api):
    client, tokens = api
    from nebhx.execution import plan
    got: dict = {}
    asking = threading.Thread(target=lambda: got.update(plan.AgentHosts().ask(
        {"h1": {"items": [], "planned": {}}}, timeout_s=10)))
    asking.start()
    rid = wait_for(lambda: next(iter(plan._here), None), 5, interval=0.01, what="the plan's request")
    answer = {"items": {"n": {"effect": "nothing", "changes": False}}}

    def post(host: str, token: str | None = None):
        return client.post(f"/api/exec/plan/{rid}", json={"answer": answer},
                           headers={"Authorization": f"Bearer {token or tokens[host]}"})
    assert post("h2").status_code == 410  # h2 was not asked
    assert client.post(f"/api/exec/plan/{rid}", json={"answer": answer}).status_code == 401
    assert post("h1").status_code == 204
    asking.join(10)
    assert got == {"h1": answer}
    assert post("h1").status_code == 410  # the plan ended: nobody waits for it


def test_a_silent_host_is_told_after_the_deadline_and_an_unknown_one_at_once(api):
    from nebhx.execution import plan
    started = time.monotonic()
    got = plan.AgentHosts().ask({"h2": {"items": []}, "ghost": {"items": []}}, timeout_s=1)
    assert got["h2"] == {"error": "host h2 did not answer within 1 s (its agent is busy or stuck)"}
    assert got["ghost"]["error"].startswith("no agent of host ghost is running (no host of that name is registered")
    assert time.monotonic() - started < 15  # the deadline, not a hang (generous: a shared machine)
