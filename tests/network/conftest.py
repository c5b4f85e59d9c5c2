"""Fixtures of the network bricks' tests: three namespace hosts on a bridge (root and
`ip netns` needed: the tests fail saying why otherwise), and a SQLite store for the pools."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from nskit import Cluster  # noqa: E402

from nebhx.settings import get_settings  # noqa: E402


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("nethosts"))
    try:
        c.net_up()
        yield c
    finally:
        problems = c.down()
        assert not problems, problems


@pytest.fixture
def sqlite_store(tmp_path, monkeypatch):
    """A SQLite store as the one the control bricks use."""
    monkeypatch.setenv("NEBHX_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
