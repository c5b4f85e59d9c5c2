import pytest

from inprocess import Engine, template_store


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory):
    return template_store(tmp_path_factory.mktemp("template-store"))


@pytest.fixture
def eng(monkeypatch, tmp_path, migrated_store):
    """The engine in process over a fresh SQLite store: ``eng.drain()`` runs what it sends."""
    from nebhx.settings import reset_settings
    yield Engine(monkeypatch, tmp_path, migrated_store)
    reset_settings()
