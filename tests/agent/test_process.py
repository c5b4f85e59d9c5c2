"""The agent process loads nothing of the control plane: its entry point, its tasks and the
palette import no SQLAlchemy, no store and no engine (checked in a fresh interpreter; the
import contract `agent-no-store` in .importlinter checks the same statically)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from support import ROOT

PROBE = """
import json, sys
import nebhx.agent.main, nebhx.agent.tasks, nebhx.agent.plans
from nebhx.bricks.registry import get_registry
bricks = len(get_registry().palette()["bricks"])
print(json.dumps({"bricks": bricks, "loaded": sorted(m for m in sys.modules if m.split(".")[0] in
      ("sqlalchemy", "alembic", "psycopg") or m.startswith(("nebhx.store", "nebhx.engine", "nebhx.execution",
      "nebhx.hosts", "nebhx.auth")))}))
"""


def _agent_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEBHX_")}
    return {**env, "NEBHX_HOME": str(tmp_path / "home"), "NEBHX_HOST_HOME": str(tmp_path / "host"),
            "NEBHX_BROKER_URL": "redis://127.0.0.1:9/0", "NEBHX_AGENT_TOKEN": "nbx_some_token",
            "XDG_CONFIG_HOME": str(tmp_path / "config")}


def test_the_agent_and_its_palette_load_no_store_and_no_engine(tmp_path):
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=_agent_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["bricks"] > 20 and out["loaded"] == []
    assert not list(tmp_path.rglob("*.db"))


def test_an_agent_without_its_token_refuses_to_start_and_makes_no_store(tmp_path):
    env = {**_agent_env(tmp_path), "NEBHX_AGENT_TOKEN": ""}
    proc = subprocess.run([sys.executable, "-m", "nebhx.cli.main", "agent", "--host", "h1",
                           "--server", "http://127.0.0.1:9"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--server needs the host's token" in proc.stdout, proc.stdout + proc.stderr
    assert not list(tmp_path.rglob("*.db"))
