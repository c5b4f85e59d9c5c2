from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from lanes import lane_of  # noqa: E402
from support import create_pg_database, fresh_sqlite_store, stack_fixture, start_redis  # noqa: E402

from nebhx.bricks.registry import import_builtin  # noqa: E402

import_builtin()
os.environ.setdefault("NEBHX_HOME", str(Path(os.environ.get("TMPDIR", "/tmp")) / f"nebhx-pytest-{os.getpid()}"))


@pytest.fixture(autouse=True, scope="session")
def brick_resources():
    """The control plane's resources for bricks run in the test process, as `nebhx worker`
    installs them (they read the settings when used, so each test's store and home apply)."""
    from nebhx import process
    yield process.install()


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashes():
    """Passwords hashed in this process at argon2's lowest costs (about 0.1 s of CPU saved per
    user made or signed in): these tests check who may do what, not the hash's cost. A server
    process a test starts keeps the library's costs, and re-hashes at them on sign-in."""
    from argon2 import PasswordHasher

    from nebhx.auth import service
    patch = pytest.MonkeyPatch()
    patch.setattr(service, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    patch.undo()


def pytest_collection_modifyitems(items):
    """Mark each test with its lane (tests/lanes.py runs the lanes side by side)."""
    for item in items:
        item.add_marker(f"lane_{lane_of(item.path, item.fixturenames)}")


@pytest.fixture(scope="session")
def redis_url():
    proc, url = start_redis()
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def pg_url():
    url, drop = create_pg_database()
    yield url
    drop()


@pytest.fixture(params=["sqlite", "pg"])
def db_url(request, tmp_path):
    """A fresh store: a SQLite file, or a new PostgreSQL database; migrated (copied from a
    template) unless the test is marked `empty_store`."""
    empty = request.node.get_closest_marker("empty_store") is not None
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}" if empty else fresh_sqlite_store(tmp_path / "store.db")
    else:
        url, drop = create_pg_database(template=not empty)
        yield url
        drop()


# One API + worker stack per kind for the whole session (two start-ups, not two per module);
# a module that stops, kills or restarts its workers takes one of its own with
# `stack = stack_fixture("module")`.
stack = stack_fixture("session")
