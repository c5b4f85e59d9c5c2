"""The API in-process for the API-side attack tests: fixtures imported by each test module
(``from apikit import secured``), users made the way `nebhx user add` makes them."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from support import TEST_BLOCKS, create_pg_database, fresh_palette

BASE = "http://127.0.0.1:8750"


def _settle(monkeypatch: pytest.MonkeyPatch, tmp_path, db_url: str) -> None:
    from nebhx.auth import ratelimit, service
    from nebhx.settings import reset_settings
    monkeypatch.setenv("NEBHX_HOME", str(tmp_path))
    monkeypatch.setenv("NEBHX_DATABASE_URL", db_url)
    monkeypatch.setenv("NEBHX_BLOCKS_PATH", str(TEST_BLOCKS))
    reset_settings()
    ratelimit.reset()
    service.forget_users_cache()
    fresh_palette()


@pytest.fixture
def app_env(monkeypatch, tmp_path) -> Iterator[pytest.MonkeyPatch]:
    """Settings for an in-process API over a fresh SQLite store."""
    from nebhx.settings import reset_settings
    _settle(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'store.db'}")
    yield monkeypatch
    reset_settings()


@pytest.fixture
def pg_env(monkeypatch, tmp_path) -> Iterator[pytest.MonkeyPatch]:
    """The same over a fresh PostgreSQL database (the store that refuses NUL and NaN)."""
    from nebhx.settings import reset_settings
    url, drop = create_pg_database()
    _settle(monkeypatch, tmp_path, url)
    yield monkeypatch
    reset_settings()
    drop()


def client(**kwargs) -> TestClient:
    from nebhx.api.app import create_app
    return TestClient(create_app(), base_url=BASE, raise_server_exceptions=False, **kwargs)


@pytest.fixture
def secured(app_env) -> Iterator[TestClient]:
    """The API with NEBHX_AUTH=required (no open mode even on loopback)."""
    from nebhx.settings import reset_settings
    app_env.setenv("NEBHX_AUTH", "required")
    reset_settings()
    with client() as c:
        yield c


@pytest.fixture
def open_api(app_env) -> Iterator[TestClient]:
    """The API in its default mode on loopback with no user: open."""
    with client() as c:
        yield c


def add_user(name: str, role: str, password: str = "correct horse") -> str:
    """A user made the way `nebhx user add` does; returns an API token of theirs."""
    from nebhx.auth import service
    from nebhx.store.db import session_scope
    with session_scope() as s:
        service.create_user(s, name=name, password=password, role=role)
        return service.create_token(s, owner=name, name="test").token


def add_host(name: str) -> str:
    """A host's join token, as `nebhx hosts add NAME` makes it."""
    from nebhx.auth import service
    from nebhx.store.db import session_scope
    with session_scope() as s:
        return service.add_host(s, name=name, labels={}, server=BASE).token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
