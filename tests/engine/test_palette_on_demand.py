"""A brick added while the worker runs: reloaded in the API, it also runs (the worker loads it)."""
from __future__ import annotations

import os

import pytest

from support import TEST_BLOCKS, Stack, graph, make_env

GREETING = '''
from pydantic import Field
from nebhx import Brick, Context, Ports


class Greeting(Brick):
    """Greets."""
    id = "team.greeting"
    category = "team"

    class Inputs(Ports):
        name: str = Field("world", description="Whom to greet")

    class Outputs(Ports):
        text: str

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        return self.Outputs(text=f"hello {inputs.name}")
'''


@pytest.fixture
def live(tmp_path):
    extra = tmp_path / "team-blocks"
    extra.mkdir()
    env = make_env(tmp_path / "home", NEBHX_BLOCKS_PATH=os.pathsep.join([str(TEST_BLOCKS), str(extra)]))
    (tmp_path / "home").mkdir()
    stack = Stack(tmp_path / "home", env).start()
    yield stack, extra
    stack.stop()


def test_a_brick_written_after_the_worker_started_runs_once_reloaded(live):
    stack, extra = live
    # The worker is up and has its palette: a node already ran.
    assert stack.run(graph("warm", [("e", "test.echo", {"text": "x"})]))["status"] == "succeeded"
    (extra / "team.py").write_text(GREETING)
    with stack.client() as c:
        assert c.post("/bricks/reload").status_code == 200
        assert "team.greeting" in {b["id"] for b in c.get("/bricks").json()["bricks"]}
    run = stack.run(graph("greet", [("g", "team.greeting", {"name": "team"})]))
    assert run["status"] == "succeeded", run["nodes"]["g"].get("error")
    assert run["nodes"]["g"]["outputs"] == {"text": "hello team"}
