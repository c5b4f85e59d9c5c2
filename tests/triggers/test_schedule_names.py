"""A schedule's name is its identity (its trigger_schedules row, like a webhook's path): a
name two graphs declare starts neither, rather than only the graph swept first, and a name
declared twice in one graph is refused at validation naming the trigger and field, as is a
schedule that leaves a required graph input without a value (every tick would fail)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from nebhx.graphs.service import ensure_graph
from nebhx.store.db import session_scope
from nebhx.store.models import TriggerScheduleRow
from nebhx.triggers.schedule import check_triggers, fire_due

NIGHTLY = {"name": "nightly", "kind": "schedule", "cron": "0 3 * * *"}


def doc(name: str, *triggers: dict) -> dict:
    return {"format": "nebhx/graph@1", "name": name, "nodes": [], "edges": [],
            "meta": {"triggers": list(triggers)}}


def rows(url: str) -> list[str]:
    with session_scope(url) as s:
        return list(s.execute(select(TriggerScheduleRow.graph_id)).scalars())


def test_a_schedule_name_two_graphs_declare_starts_neither(db_url, caplog):
    with session_scope(db_url) as s:
        first, _ = ensure_graph(s, doc=doc("app", NIGHTLY))
        ensure_graph(s, doc=doc("copy", NIGHTLY))
    now = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    for day in range(3):
        assert fire_due(lambda: session_scope(db_url), now=now + timedelta(days=day)) == []
    assert rows(db_url) == []  # not even first sight: no graph's ticks are counted
    assert sum("declared by graphs" in r.message for r in caplog.records) == 1  # told once
    with session_scope(db_url) as s:
        ensure_graph(s, doc=doc("copy"))  # the copy stops declaring it: app's schedule counts
    fire_due(lambda: session_scope(db_url), now=now)
    assert rows(db_url) == [first]


def test_a_name_declared_twice_in_one_graph_is_refused():
    problems = check_triggers(doc("app", NIGHTLY, {**NIGHTLY, "cron": "0 4 * * *"}))
    assert [(p.path, p.message) for p in problems] == [
        ("/meta/triggers/1/name", "trigger 'nightly': name: declared twice in this graph")]


def test_a_required_input_a_schedule_does_not_give_is_refused():
    graph = {**doc("app", {**NIGHTLY, "inputs": {"region": "eu"}}),
             "inputs": [{"name": "region", "type": "string"}, {"name": "selector", "type": "string"},
                        {"name": "port", "type": "integer", "default": 80},
                        {"name": "note", "type": "string", "required": False}]}
    problems = check_triggers(graph)
    assert [(p.path, p.message) for p in problems] == [
        ("/meta/triggers/0/inputs", "trigger 'nightly': inputs: graph input 'selector' is required and "
                                    "has no default: give it a value")]


def test_a_tick_whose_run_cannot_start_is_skipped_once_with_the_error(db_url, caplog):
    bad = {**NIGHTLY, "inputs": {"port": "not a number"}}  # keys are checked when saved, values when run
    with session_scope(db_url) as s:
        ensure_graph(s, doc={**doc("app", bad), "inputs": [{"name": "port", "type": "integer"}]})
    now = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    fire_due(lambda: session_scope(db_url), now=now)  # first sight
    for _ in range(3):  # sweeps until the next tick: the failed tick is not retried
        assert fire_due(lambda: session_scope(db_url), now=now + timedelta(days=1)) == []
    assert sum(r.exc_info is not None for r in caplog.records) == 1
    with session_scope(db_url) as s:
        row = s.get(TriggerScheduleRow, "nightly")
        assert row.skipped == 1 and row.last_run_id is None
        assert "skipped: the run could not start" in row.last_skip_reason and "'port'" in row.last_skip_reason
