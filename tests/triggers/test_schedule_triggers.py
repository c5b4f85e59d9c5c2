"""Schedule triggers on a real stack (API with its sweep + worker, on SQLite and on
PostgreSQL + Redis): a cron every two seconds (croniter's sixth field is seconds) starts runs
with the trigger's inputs and records the tick; at most `concurrency` runs at a time, the
other ticks skipped with their reason; an API restart and a second sweeper never start a
tick twice; a bad cron expression is refused naming the trigger and field. No timed
asserts: every wait is for a condition."""
from __future__ import annotations

import contextlib
import subprocess
import sys
import time

import httpx

from support import graph, stack_fixture, wait_for

# Kills and restarts its workers (or API): a stack of its own, not the session's.
stack = stack_fixture("module")

EVERY_2S = "* * * * * */2"


def scheduled(name: str, nodes: list, **trigger) -> dict:
    doc = graph(name, nodes, inputs=[{"name": "greeting", "type": "string", "required": False, "default": "hi"}])
    doc["meta"] = {"triggers": [{"name": name, "kind": "schedule", "cron": EVERY_2S, **trigger}]}
    return doc


@contextlib.contextmanager
def stored(stack, doc: dict):
    """The graph stored while the block runs; then a revision without triggers stops them."""
    with stack.client() as c:
        resp = c.post("/graphs", json=doc)
        assert resp.status_code == 201, resp.text
        graph_id = resp.json()["id"]
    try:
        yield graph_id
    finally:
        with stack.client() as c:
            assert c.put(f"/graphs/{graph_id}", json={**doc, "meta": {}}).status_code == 200


def runs_of(stack, name: str) -> list[dict]:
    with stack.client() as c:
        rows = c.get("/runs", params={"limit": 500}).json()
    return sorted((r for r in rows if (r.get("trigger") or {}).get("name") == name), key=lambda r: r["trigger"]["tick"])


def trigger_row(stack, name: str) -> dict:
    with stack.client() as c:
        return next(t for t in c.get("/triggers").json() if t["name"] == name)


def test_a_schedule_starts_runs_with_its_inputs_and_records_each_tick(stack):
    name = f"every-2s-{stack.kind}"
    doc = scheduled(name, [("say", "test.echo", {"text": {"$input": "greeting"}})],
                    inputs={"greeting": "good morning"})
    with stored(stack, doc):
        wait_for(lambda: len([r for r in runs_of(stack, name) if r["finished_at"]]) >= 2, 30, 0.2,
                 what="two scheduled runs finished")
        row = trigger_row(stack, name)
        body = b'{"repository": "x", "ref": "refs/heads/main", "commit": "' + b"a" * 40 + b'"}'
        with stack.client() as c:
            webhook = c.post(f"/triggers/{name}", content=body)
    assert webhook.status_code == 404 and "is a schedule" in webhook.json()["detail"]
    runs = runs_of(stack, name)
    ticks = [r["trigger"]["tick"] for r in runs]
    assert len(set(ticks)) == len(ticks)
    for run in runs[:2]:
        assert run["status"] == "succeeded", run["error"]
        assert run["trigger"]["kind"] == "schedule" and run["trigger"]["cron"] == EVERY_2S
        assert stack.get_run(run["id"])["inputs"] == {"greeting": "good morning"}
    assert row["kind"] == "schedule" and row["schedule"]["cron"] == EVERY_2S
    assert row["schedule"]["next_at"] > row["schedule"]["last_tick"]
    with stack.client() as c:
        assert c.get(f"/triggers/runs/{runs[0]['id']}").json()["trigger"]["tick"] == ticks[0]


def _waiting(stack, name: str) -> list[dict]:
    return [r for r in runs_of(stack, name) if not r["finished_at"]
            and stack.get_run(r["id"])["nodes"]["gate"]["status"] == "waiting"]


def test_at_most_one_run_at_a_time_the_other_ticks_skipped_with_their_reason(stack):
    name = f"one-at-a-time-{stack.kind}"
    with stored(stack, scheduled(name, [("gate", "gate.approval", {"message": "hold"})])):
        [first] = wait_for(lambda: _waiting(stack, name), 30, 0.2, what="a scheduled run waiting")
        row = wait_for(lambda: (t := trigger_row(stack, name))["schedule"]["skipped"] >= 2 and t, 30, 0.2,
                       what="two ticks skipped")
        assert [r["id"] for r in runs_of(stack, name)] == [first["id"]]
        reason = row["schedule"]["last_skip_reason"]
        assert "skipped: 1 run(s) of trigger" in reason and first["id"] in reason and "concurrency 1" in reason
        listed = subprocess.run([sys.executable, "-m", "nebhx.cli.main", "trigger", "list"], capture_output=True,
                                text=True, env={**stack.env, "NEBHX_URL": stack.url, "COLUMNS": "300"})
        assert f"cron {EVERY_2S}, next" in listed.stdout and "skipped" in listed.stdout, listed.stdout + listed.stderr
        with stack.client() as c:
            assert c.post(f"/runs/{first['id']}/nodes/gate/approve", json={}).status_code == 200
        wait_for(lambda: len(runs_of(stack, name)) >= 2, 30, 0.2, what="the next tick's run")
        assert stack.wait_run(first["id"])["status"] == "succeeded"
    _approve_all(stack, name)


def test_concurrency_two_lets_two_runs_wait_at_once(stack):
    name = f"two-at-a-time-{stack.kind}"
    with stored(stack, scheduled(name, [("gate", "gate.approval", {})], concurrency=2)):
        wait_for(lambda: len(_waiting(stack, name)) == 2, 30, 0.2, what="two scheduled runs waiting")
        wait_for(lambda: trigger_row(stack, name)["schedule"]["skipped"] >= 1, 30, 0.2, what="a tick skipped")
        assert len(runs_of(stack, name)) == 2
        assert "concurrency 2" in trigger_row(stack, name)["schedule"]["last_skip_reason"]
    _approve_all(stack, name)


def _approve_all(stack, name: str) -> None:
    with stack.client() as c:
        for run in runs_of(stack, name):
            if not run["finished_at"]:
                c.post(f"/runs/{run['id']}/nodes/gate/approve", json={})


def test_a_restart_and_a_second_sweeper_never_start_a_tick_twice(stack):
    name = f"restart-{stack.kind}"
    with stored(stack, scheduled(name, [("say", "test.echo", {"text": "tick"})], concurrency=5)):
        wait_for(lambda: len(runs_of(stack, name)) >= 2, 30, 0.2, what="two scheduled runs")
        stack.kill("api")  # the only sweeper: no tick fires while it is down
        time.sleep(5)  # the outage: ticks pass with no sweeper (nothing is asserted on time)
        _restart_api(stack)
        stack.spawn("scheduler", "scheduler")  # a second sweeper over the same store
        wait_for(lambda: any(r["trigger"].get("missed") for r in runs_of(stack, name)), 30, 0.2,
                 what="a run standing for the missed ticks")
        count = len(runs_of(stack, name))
        wait_for(lambda: len(runs_of(stack, name)) >= count + 4, 40, 0.2, what="four more runs, two sweepers")
        stack.kill("scheduler")
    ticks = [r["trigger"]["tick"] for r in runs_of(stack, name)]
    assert len(ticks) == len(set(ticks)), ticks


def test_a_schedule_removed_then_declared_again_starts_afresh(stack):
    name = f"again-{stack.kind}"
    doc = scheduled(name, [("say", "test.echo", {"text": "tick"})])
    with stored(stack, doc) as graph_id:
        wait_for(lambda: runs_of(stack, name), 30, 0.2, what="a scheduled run")
    time.sleep(5)  # ticks pass while no graph declares the schedule (nothing asserted on time)
    before = {r["id"] for r in runs_of(stack, name)}
    with stack.client() as c:
        assert c.put(f"/graphs/{graph_id}", json=doc).status_code == 200
    try:
        back = wait_for(lambda: [r for r in runs_of(stack, name) if r["id"] not in before], 30, 0.2,
                        what="a run after it came back")
    finally:
        with stack.client() as c:
            c.put(f"/graphs/{graph_id}", json={**doc, "meta": {}})
    # Only the first run after its return: a run before the removal may stand for a tick a
    # slow sweep on a loaded machine missed, which is not what this test is about.
    assert not back[0]["trigger"].get("missed"), back[0]["trigger"]


def _restart_api(stack) -> None:
    stack.spawn("api", "api", "--port", str(stack.port))
    wait_for(lambda: httpx.get(stack.url + "/api/health").status_code == 200, 30, what="API up again")


def test_a_bad_cron_expression_is_refused_naming_the_trigger_and_field(stack):
    doc = scheduled("bad-cron", [("say", "test.echo", {"text": "x"})])
    doc["meta"]["triggers"][0].update(cron="every morning", inputs={"nope": 1}, concurrency=0)
    with stack.client() as c:
        resp = c.post("/graphs", json=doc)
        checked = c.post("/graphs/validate", json=doc)
    assert resp.status_code == 422 and checked.status_code == 422
    problems = {p["path"]: p["message"] for p in resp.json()["detail"]}
    assert problems["/meta/triggers/0/cron"].startswith("trigger 'bad-cron': cron: 'every morning' is not a cron")
    assert problems["/meta/triggers/0/inputs"] == "trigger 'bad-cron': inputs: 'nope' is not an input of the graph"
    assert "trigger 'bad-cron': concurrency: 0 is not a whole number" in problems["/meta/triggers/0/concurrency"]
