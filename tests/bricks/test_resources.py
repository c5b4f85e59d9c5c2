"""A brick reaches the world through its Context's resources, built once for the process by
nebhx.process (the store, on the control plane) or nebhx.agent (the execution API, on an agent)."""
from __future__ import annotations

import pytest

from nebhx.agent.resources import agent_resources
from nebhx.bricks import resources
from nebhx.bricks.base import BrickFailed, Context
from nebhx.runtime import HostRuntime


@pytest.fixture
def agent_process():
    """This process as an agent joined with a token (what `nebhx agent --server` installs)."""
    before = resources.installed()
    try:
        yield agent_resources("http://127.0.0.1:9", "not-a-real-token")
    finally:
        resources.install(before)


def test_an_agent_brick_is_refused_the_control_planes_inventory_and_profiles(agent_process):
    ctx = Context(host="h1", resources=agent_process)
    with pytest.raises(BrickFailed, match="host inventory is read on the control plane"):
        ctx.inventory.hosts()
    with pytest.raises(BrickFailed, match="config profiles is read on the control plane"):
        ctx.profiles.latest()


def test_an_agent_records_no_artifact(agent_process, tmp_path):
    (tmp_path / "a.tgz").write_bytes(b"x")
    ctx = Context(resources=agent_process)
    with pytest.raises(BrickFailed, match="artifacts are recorded on the control plane"):
        ctx.artifacts.record(name="a.tgz", path=tmp_path / "a.tgz", provenance={})


def test_the_process_resources_give_a_host_its_runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("NEBHX_HOST_HOME", str(tmp_path / "h1"))
    ctx = Context(host="h1")  # nothing given: the process's (tests install the control plane's)
    assert ctx.runtime.name == "h1" and ctx.runtime.home == tmp_path / "h1"
    mine = HostRuntime("h2", tmp_path / "h2")
    assert Context(host="h1", runtime=mine).runtime is mine  # a test's own beats the process's


def test_a_process_without_resources_says_how_to_get_them():
    before = resources.installed()
    resources.install(None)
    try:
        with pytest.raises(RuntimeError, match="nebhx.process.install"):
            Context(host="h1").runtime  # noqa: B018 - the property is what is tested
    finally:
        resources.install(before)
