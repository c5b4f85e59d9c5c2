"""Namespace hosts for the network bricks' tests: bricks run as a host's agent would run
them, inside that host's network namespace (``brick_in_ns.py``), without a whole stack."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "cluster"))
from netns import Cluster  # noqa: E402

from nebhx import BrickFailed  # noqa: E402

__all__ = ["Cluster", "brick"]


def brick(c: Cluster, on: str, target: str, mode: str = "run", **inputs) -> dict:
    """Run (or plan) a brick as host ``on``'s agent would, in its namespace; its outputs
    (or plan), with the log lines under ``"_log"`` for a run."""
    env = {"NEBHX_HOST_HOME": str(c.workdir / "hosts" / on), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
           "NEBHX_HOME": str(c.workdir / "home")}
    proc = subprocess.run(["ip", "netns", "exec", c.ns(on), sys.executable, str(HERE / "brick_in_ns.py"),
                           target, on, mode], input=json.dumps(inputs), capture_output=True, text=True,
                          timeout=90, env=env)
    if proc.returncode == 3:
        raise BrickFailed(proc.stderr.strip())
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    return {**answer["result"], "_log": answer["log"]}
