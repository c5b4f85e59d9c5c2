"""Typed answers: times are real datetimes in the services and keep the text they always had
in JSON; each event of a run's stream is the model of its kind; a route's store session is one
transaction, so a refused request leaves nothing behind."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from nebhx.runs.schemas import LogEvent, NodeEvent, RunEvent, RunRead, RunStateEvent
from support import graph, order

KINDS = {"run": RunStateEvent, "node": NodeEvent, "log": LogEvent}


def _run(api, name: str) -> dict:
    doc = graph(name, [("a", "test.noop"), ("b", "test.noop")], [order("a", "b")])
    started = api.post("/api/runs", json={"graph": doc})
    assert started.status_code == 201, started.text
    return started.json()


def test_times_are_iso_8601_with_their_utc_offset_as_before(api):
    run = _run(api, "typed-times")
    created = run["created_at"]
    assert created.endswith("+00:00") and datetime.fromisoformat(created).tzinfo is not None
    listed = api.get("/api/runs").json()
    assert [r["created_at"] for r in listed] == [created]
    revisions = api.get(f"/api/graphs/{run['graph_id']}").json()["revisions"]
    assert revisions[0]["created_at"].endswith("+00:00")
    assert api.get("/api/graphs").json()[0]["updated_at"].endswith("+00:00")


def test_the_service_answers_the_model_with_real_datetimes(api):
    from nebhx.runs import service
    from nebhx.store.db import session_scope
    run = _run(api, "typed-service")
    with session_scope() as s:
        read = service.get_run(s, run_id=run["id"])
    assert isinstance(read, RunRead) and isinstance(read.created_at, datetime)
    assert read.created_at.tzinfo is not None and read.created_at.utcoffset() == timezone.utc.utcoffset(None)
    # The route sends exactly this model: the same JSON, keys a node lacks left out.
    assert read.model_dump(mode="json", exclude_unset=True) == api.get(f"/api/runs/{run['id']}").json()


def test_every_streamed_event_is_the_model_of_its_kind(api):
    run = _run(api, "typed-events")
    cancelled = api.post(f"/api/runs/{run['id']}/cancel")  # no worker here: the run ends now
    assert cancelled.status_code == 200 and cancelled.json()["status"] != "running", cancelled.text
    text = api.get(f"/api/runs/{run['id']}/events").text
    blocks = [dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
              for block in text.split("\n\n") if "data: " in block]
    assert {b["event"] for b in blocks} >= {"run", "node"}
    for b in blocks:
        event = RunEvent.model_validate_json(b["data"]).root
        assert type(event) is KINDS[b["event"]] and str(event.id) == b["id"]
        assert (event.node is None) == (b["event"] == "run")
        assert json.loads(b["data"])["at"].endswith("+00:00")


def test_a_refused_request_leaves_nothing_behind(api):
    doc = graph("typed-refused", [("a", "test.noop")], inputs=[{"name": "need", "type": "string"}])
    refused = api.post("/api/runs", json={"graph": doc})
    assert refused.status_code == 422 and "need" in refused.text
    # The graph the request stored first went with the refused run: one transaction.
    assert [g["name"] for g in api.get("/api/graphs").json()] == []
