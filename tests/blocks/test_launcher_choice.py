"""Which launcher service.run picks and what its plan says, on this machine (PID 1 is not
systemd, so the default is supervisord): the plan names the launcher and the program, the
options only systemd has are refused for supervisord naming them, and `launcher: podman`
is the container runtime under the default launcher."""
from __future__ import annotations

from pathlib import Path

import pytest

from nebhx import BrickFailed, Context
from nebhx.runtime import HostRuntime
from nebhx.runtime.systemd import default_launcher
from nebhx_blocks.service.launcher import RunService


@pytest.fixture
def ctx(tmp_path):
    return Context(runtime=HostRuntime("h1", tmp_path / "h1"))


def plan(ctx, **inputs) -> dict:
    return RunService().plan(ctx, RunService.Inputs(host="h1", service="web", command="/bin/sleep 60", **inputs))


def test_the_default_here_is_supervisord_and_the_plan_says_so(ctx):
    assert not Path("/run/systemd/system").is_dir(), "this test is for a machine whose PID 1 is not systemd"
    assert default_launcher() == "supervisord"
    out = plan(ctx)
    assert out["launcher"] == "supervisord" and out["unit"] == "program:web" and out["changes"]
    assert "under supervisord" in out["effect"]


@pytest.mark.parametrize("inputs,named", [
    (dict(memory_max="512M"), "memory_max"),
    (dict(cpu_quota=50, live_command="/bin/true"), "cpu_quota, live_command"),
    (dict(restart="on-failure"), "restart"),
])
def test_systemd_only_options_are_refused_for_supervisord(ctx, inputs, named):
    with pytest.raises(BrickFailed, match=f"^{named}: only the systemd launcher"):
        plan(ctx, launcher="supervisord", **inputs)
    with pytest.raises(BrickFailed, match=f"^{named}: only the systemd launcher"):
        RunService()(ctx, host="h1", service="web", command="/bin/sleep 60", **inputs)
    assert not (ctx.runtime.home / "supervisor" / "programs").exists()  # refused before anything


def test_launcher_podman_is_the_container_runtime(ctx):
    out = plan(ctx, launcher="podman")
    assert out["launcher"] == "supervisord" and "in a podman container under supervisord" in out["effect"]
    with pytest.raises(BrickFailed, match="^launcher: podman runs the release's image with podman, but runtime says docker"):
        plan(ctx, launcher="podman", runtime="docker")


def test_a_plan_for_systemd_where_none_runs_fails_naming_it(ctx):
    with pytest.raises(BrickFailed, match="^launcher systemd: no systemd answers systemctl on this host"):
        plan(ctx, launcher="systemd")
