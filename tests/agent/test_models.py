"""The agent's request and answer models are the execution API's own: generated from its
schema (scripts/agent_models.py), so a field the API renames or bounds fails here first,
not on a host at its next node."""
from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from support import ROOT


def test_the_agents_models_are_generated_from_the_current_schema():
    proc = subprocess.run([sys.executable, "scripts/agent_models.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.strip()[-2000:] or proc.stdout[-2000:]


def test_a_body_the_api_would_refuse_is_refused_before_it_is_sent():
    from nebhx.agent import models as m
    with pytest.raises(ValidationError, match="attempt"):
        m.ClaimIn(run_id="r", node_id="n", attempt=0)
    with pytest.raises(ValidationError, match="status"):
        m.OutcomeIn.model_validate({"status": "exploded"})
    claim = m.ClaimRead.model_validate({"run_id": "r", "node_id": "n", "attempt": 1, "brick": "core.echo",
                                        "inputs": {"x": 1}, "secrets": ["s"]})
    assert claim.inputs == {"x": 1} and claim.brick_packages is None
