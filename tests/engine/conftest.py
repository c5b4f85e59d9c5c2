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


@pytest.fixture(params=["sqlite", "pg"])
def any_eng(request, monkeypatch, tmp_path, migrated_store):
    """``eng`` over SQLite, then over a fresh PostgreSQL database (the hot path's folded
    statements are PostgreSQL's)."""
    from nebhx.settings import reset_settings
    from support import create_pg_database
    if request.param == "sqlite":
        yield Engine(monkeypatch, tmp_path, migrated_store)
    else:
        url, drop = create_pg_database()
        yield Engine(monkeypatch, tmp_path, migrated_store, url=url)
        drop()
    reset_settings()
