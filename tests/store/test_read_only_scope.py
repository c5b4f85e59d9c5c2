"""A read-only scope opened inside a write transaction of the same thread reads at once.

On SQLite every ordinary scope takes the write lock up front (BEGIN IMMEDIATE); a second
one opened while the first is open waits on its own thread for busy_timeout (30 s) and then
fails with "database is locked". The palette's look at the registered brick packages runs
wherever a brick is looked up, inside other transactions too, so it reads without the lock.
"""
from __future__ import annotations

from sqlalchemy import text

from nebhx.artifacts import brickpkgs
from nebhx.store.db import migrate, session_scope


def test_a_read_inside_a_write_transaction_neither_waits_nor_fails(db_url):
    migrate(db_url)
    with session_scope(db_url) as outer:
        outer.execute(text("UPDATE graphs SET name = name"))  # holds the write lock
        with session_scope(db_url, read_only=True) as inner:
            assert inner.execute(text("SELECT count(*) FROM graphs")).scalar() == 0


def test_the_package_generation_is_read_inside_a_write_transaction(db_url, monkeypatch):
    migrate(db_url)
    monkeypatch.setenv("NEBHX_DATABASE_URL", db_url)
    from nebhx.settings import get_settings
    get_settings.cache_clear()
    brickpkgs.forget_generation()
    try:
        with session_scope(db_url) as outer:
            outer.execute(text("UPDATE graphs SET name = name"))
            assert len(brickpkgs.current_generation()) == 16
    finally:
        get_settings.cache_clear()
        brickpkgs.forget_generation()
