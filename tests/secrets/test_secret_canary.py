"""A canary secret, echoed by a brick everywhere it can, must surface nowhere: not in an API
answer, not in a row of the store, not in a file under the stack's home."""
from __future__ import annotations

import json
import uuid

from secret_support import every_cell
from support import graph, wire


def events_until_the_end(c, run_id: str) -> str:
    """The events stream from the first event, read until the server closes it."""
    with c.stream("GET", f"/runs/{run_id}/events", params={"after": 0}) as live:
        text = "\n".join(live.iter_lines())
    kinds = [json.loads(line[6:])["kind"] for line in text.splitlines() if line.startswith("data: ")]
    assert kinds and kinds[-1] == "run", kinds  # the run's end event closes the stream
    return text


def canary_graph(name: str, default: str) -> dict:
    echo = {"secret": {"$secret": "canary"}, "other": {"$input": "password"}}
    return graph(name, [
        ("echo", "test.echo_secret", echo),
        ("shout", "test.echo_secret", {**echo, "fail": True}),
        ("after", "test.echo", {}, {"trigger": "all_done"}),
    ], [wire("echo", "text", "after", "text")],
        inputs=[{"name": "password", "type": "Secret", "required": False, "default": default}],
        outputs=[{"name": "line", "from": {"node": "echo", "port": "text"}}])


def everything_the_api_shows(c, run: dict) -> str:
    rid, gid = run["id"], run["graph_id"]
    shown = [json.dumps(c.get(f"/runs/{rid}").json()), events_until_the_end(c, rid)]
    shown += [c.get(f"/runs/{rid}/nodes/{node}/log").text for node in run["nodes"]]
    shown += [c.get(path).text for path in (
        f"/graphs/{gid}", f"/graphs/{gid}/revisions/latest", "/graphs", "/runs", "/secrets", "/audit")]
    return "\n".join(shown)


def test_a_canary_secret_never_surfaces(stack):
    stored, default = f"canary-{uuid.uuid4().hex}", f"canary-default-{uuid.uuid4().hex}"
    with stack.client() as c:
        assert c.put("/secrets/canary", json={"value": stored}).status_code == 204
    run = stack.run(canary_graph(f"canary-{stack.kind}", default))
    with stack.client() as c:
        assert c.post(f"/runs/{run['id']}/nodes/shout/retry").status_code == 200  # an audited action
        run = stack.wait_run(run["id"])
        shown = everything_the_api_shows(c, run)
    # The bricks did echo both values: into an output, the run's outputs, logs and an error.
    assert run["nodes"]["echo"]["outputs"]["text"] == "echo ****** and ******"
    assert run["outputs"]["line"] == "echo ****** and ******"
    assert run["nodes"]["after"]["outputs"]["text"] == "echo ****** and ******"
    assert run["nodes"]["shout"]["error"] == "refused with ****** and ******"
    assert "the secrets are ****** and ******" in shown
    for value in (stored, default):
        assert value not in shown, "an API answer shows the canary"
        assert value not in every_cell(stack.db_url), "a row of the store holds the canary"
        leaks = [str(p) for p in stack.home.rglob("*") if p.is_file() and value.encode() in p.read_bytes()]
        assert leaks == [], "files under the stack's home hold the canary"
