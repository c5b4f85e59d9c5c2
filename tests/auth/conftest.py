import pytest
from fastapi.testclient import TestClient

from support import TEST_BLOCKS, fresh_palette

BASE = "http://127.0.0.1:8750"


@pytest.fixture
def app_env(db_url, monkeypatch, tmp_path):
    """Settings for an in-process API over a fresh store; returns a function that starts it."""
    from nebhx.auth import ratelimit
    from nebhx.settings import reset_settings
    monkeypatch.setenv("NEBHX_HOME", str(tmp_path))
    monkeypatch.setenv("NEBHX_DATABASE_URL", db_url)
    monkeypatch.setenv("NEBHX_BLOCKS_PATH", str(TEST_BLOCKS))
    reset_settings()
    ratelimit.reset()
    fresh_palette()
    yield monkeypatch
    reset_settings()
    ratelimit.reset()


def _client() -> TestClient:
    from nebhx.api.app import create_app
    return TestClient(create_app(), base_url=BASE, raise_server_exceptions=False)


@pytest.fixture
def secured(app_env):
    """The API with NEBHX_AUTH=required (no open mode even on loopback)."""
    from nebhx.settings import reset_settings
    app_env.setenv("NEBHX_AUTH", "required")
    reset_settings()
    with _client() as client:
        yield client


@pytest.fixture
def open_api(app_env):
    """The API in its default mode on loopback with no user: open."""
    with _client() as client:
        yield client
