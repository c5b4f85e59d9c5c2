"""Issue 18, finding 12: NUL, NaN and Infinity get a 4xx from every JSON route, never a 500.

The execution API was left out of the edge's JSON limits: on PostgreSQL `/api/exec/register`
answered 500 for a NUL in the address (a text column), `heartbeat` for NaN, Infinity or 1e400
(the json type refuses them), `alive` and `claim` for a NUL in a name. The rest of the API is
fuzzed by tests/api/test_fuzz.py; here hypothesis puts such values into every field of every
execution route a host's agent calls.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apikit import add_host, bearer, client

NASTY = [float("nan"), float("inf"), float("-inf"), "a\x00b", "\x00", "\ud800", 2**70, -(2**64), "ok", 1]
BODIES = {
    "/api/exec/register": lambda x, y: {"address": x, "labels": {}, "version": y},
    "/api/exec/heartbeat": lambda x, y: {"services": [{"service": "web", "pid": x, "probe": {"error": y}}]},
    "/api/exec/alive": lambda x, y: {"worker": x},
    "/api/exec/claim": lambda x, y: {"run_id": x, "node_id": "n", "attempt": 1, "worker": y},
    "/api/exec/renew": lambda x, y: {"run_id": "r", "node_id": x, "attempt": 1, "log": y},
    "/api/exec/finish": lambda x, y: {"run_id": "r", "node_id": "n", "attempt": 1,
                                      "outcome": {"status": "failed", "error": y, "outputs": {"x": x}}},
}


@pytest.fixture
def agent_api(pg_env):
    """The API on PostgreSQL and a host's token."""
    with client() as c:
        yield c, bearer(add_host("d1"))


def _post(api, headers, path: str, body: dict):
    text = json.dumps(body, allow_nan=True)  # NaN and Infinity as Python writes them
    return api.post(path, content=text, headers={**headers, "content-type": "application/json"})


@pytest.mark.parametrize(("path", "body"), [
    ("/api/exec/register", {"address": "a\x00b", "labels": {}}),
    ("/api/exec/heartbeat", {"services": [{"x": float("nan")}]}),
    ("/api/exec/heartbeat", {"services": [{"x": float("inf")}]}),
    ("/api/exec/alive", {"worker": "w\x00"}),
    ("/api/exec/claim", {"run_id": "r\x00", "node_id": "n", "attempt": 1}),
])
def test_the_issues_requests_are_refused_naming_the_field(agent_api, path, body):
    api, headers = agent_api
    answer = _post(api, headers, path, body)
    assert answer.status_code == 422, (path, answer.status_code, answer.text)
    assert answer.json()["detail"][0]["path"].startswith("/body/"), answer.text


def test_1e400_is_refused(agent_api):
    api, headers = agent_api
    answer = api.post("/api/exec/heartbeat", content='{"services": [{"x": 1e400}]}',
                      headers={**headers, "content-type": "application/json"})
    assert answer.status_code == 422 and "/body/services/0/x" in answer.text, answer.text


def test_fuzzed_execution_routes_never_answer_500(agent_api):
    api, headers = agent_api
    seen: list[int] = []

    @settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(sorted(BODIES)), st.sampled_from(NASTY), st.sampled_from(NASTY))
    def one(path, x, y):
        answer = _post(api, headers, path, BODIES[path](x, y))
        seen.append(answer.status_code)
        assert answer.status_code < 500, (path, x, y, answer.status_code, answer.text[:300])
    one()
    assert len(seen) >= 30 and any(s == 422 for s in seen), seen
