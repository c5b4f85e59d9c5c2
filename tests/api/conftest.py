import pytest
from fastapi.testclient import TestClient

from support import TEST_BLOCKS, fresh_palette


@pytest.fixture
def api(db_url, monkeypatch, tmp_path):
    """The API in-process over a fresh store (SQLite or PostgreSQL); no worker needed."""
    from nebhx.settings import reset_settings
    monkeypatch.setenv("NEBHX_HOME", str(tmp_path))
    monkeypatch.setenv("NEBHX_DATABASE_URL", db_url)
    monkeypatch.setenv("NEBHX_BLOCKS_PATH", str(TEST_BLOCKS))
    reset_settings()
    fresh_palette()
    from nebhx.api.app import create_app
    # A loopback name: the API refuses Host names it is not known by (DNS rebinding).
    with TestClient(create_app(), base_url="http://127.0.0.1:8750", raise_server_exceptions=False) as client:
        yield client
    reset_settings()
