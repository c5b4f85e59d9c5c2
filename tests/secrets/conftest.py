"""Stores and stacks whose key file is their own: rotating it must not touch anyone else's."""
from __future__ import annotations

from pathlib import Path

import pytest

from support import Stack, TEST_BLOCKS, create_pg_database, fresh_palette, make_env, start_redis


@pytest.fixture(params=["embedded", "redis+pg"], scope="module")
def stack(request, tmp_path_factory):
    """API + worker processes (as tests/conftest.py's stack) with a key file of their own."""
    home = tmp_path_factory.mktemp(f"stack-{request.param.replace('+', '-')}")
    config = tmp_path_factory.mktemp("config")
    keys = {"NEBHX_SECRET_KEY_FILE": str(config / "nebhx" / "secret.key"), "XDG_CONFIG_HOME": str(config)}
    cleanups = []
    if request.param == "embedded":
        env = make_env(home, **keys)
    else:
        redis_proc, broker = start_redis()
        db, drop = create_pg_database()
        env = make_env(home, db, broker, **keys)
        cleanups = [drop, lambda: (redis_proc.terminate(), redis_proc.wait(10))]
    s = Stack(home, env).start()
    s.kind = request.param
    s.key_file = Path(keys["NEBHX_SECRET_KEY_FILE"])
    s.db_url = env.get("NEBHX_DATABASE_URL") or f"sqlite:///{home / 'nebhx.db'}"
    yield s
    s.stop()
    for cleanup in cleanups:
        cleanup()


@pytest.fixture
def store(db_url, monkeypatch, tmp_path):
    """This process's settings over a fresh store (SQLite or PostgreSQL) and its own key file."""
    from nebhx.settings import reset_settings
    monkeypatch.setenv("NEBHX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEBHX_DATABASE_URL", db_url)
    monkeypatch.setenv("NEBHX_BLOCKS_PATH", str(TEST_BLOCKS))
    monkeypatch.setenv("NEBHX_SECRET_KEY_FILE", str(tmp_path / "config" / "nebhx" / "secret.key"))
    monkeypatch.delenv("NEBHX_SECRET_KEY", raising=False)
    reset_settings()
    fresh_palette()
    yield db_url
    reset_settings()
