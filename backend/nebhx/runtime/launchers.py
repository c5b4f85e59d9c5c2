"""Which launcher runs a service instance, and what it is given besides the command.

``service.run`` and ``service.stop`` choose here: the graph's ``launcher`` input, else the one
the instance was recorded under, else the host's default (runtime/systemd.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.services import read_spec
from nebhx.runtime.systemd import default_launcher

def container_launcher(inputs: Any) -> Any:
    """``launcher: podman|docker`` is ``runtime`` podman or docker (the engine's foreground run
    of the release's image) under the host's default process launcher."""
    if inputs.launcher not in ("podman", "docker"):
        return inputs
    if inputs.runtime not in ("process", inputs.launcher):
        raise BrickFailed(f"launcher: {inputs.launcher} runs the release's image with {inputs.launcher}, "
                          f"but runtime says {inputs.runtime}: give one of them")
    return inputs.model_copy(update={"runtime": inputs.launcher, "launcher": ""})


SYSTEMD_ONLY = ("memory_max", "cpu_quota", "live_command")


def launcher_of(ctx: Any, inputs: Any) -> tuple[str, str | None]:
    """(the launcher to use, the one the instance runs under now or None): the input's, else
    the recorded one, else systemd where PID 1 is systemd and supervisord elsewhere."""
    before = recorded_launcher(ctx.runtime.home, inputs.service, inputs.instance)
    return inputs.launcher or before or default_launcher(), before


def recorded_launcher(home: Path, service: str, instance: str) -> str | None:
    """The launcher a recorded instance runs under (a record from before launchers had a
    choice is supervisord's); None when nothing is recorded."""
    spec = read_spec(home, service, instance)
    return (spec.get("launcher") or "supervisord") if spec else None


def launch_options(inputs: Any, kind: str) -> dict[str, Any]:
    """What the launcher is given besides command, environment and user; systemd's own
    settings refused, naming them, for supervisord."""
    options = {"start_secs": inputs.start_secs, "start_retries": inputs.max_restarts,
               "autorestart": inputs.restart != "no"}
    if kind == "systemd":
        return {**options, "restart": inputs.restart, "memory_max": inputs.memory_max,
                "cpu_quota": inputs.cpu_quota, "live_command": inputs.live_command,
                "live_interval_s": inputs.live_interval_s}
    given = [k for k in SYSTEMD_ONLY if getattr(inputs, k)] + (["restart"] if inputs.restart == "on-failure" else [])
    if given:
        raise BrickFailed(f"{', '.join(given)}: only the systemd launcher offers "
                          f"{'this' if len(given) == 1 else 'these'}; set launcher to systemd")
    return options
