"""The editor's tests run against frontend/src/test/palette.json: a palette that lags the
registry (a brick added, a port renamed) lets them pass against bricks that no longer exist."""
from __future__ import annotations

import subprocess
import sys

from support import ROOT


def test_editor_palette_fixture_is_current():
    proc = subprocess.run([sys.executable, "frontend/scripts/palette_fixture.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.strip()[-2000:] or proc.stdout[-2000:]
