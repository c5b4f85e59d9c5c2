"""Engine and sessions for SQLite (embedded) and PostgreSQL, with migrations at start."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(engine: Engine) -> None:
    # Several processes write one file: WAL lets readers go on, busy_timeout waits for the
    # writer, and BEGIN IMMEDIATE takes the write lock up front so two transactions that
    # read-then-write cannot deadlock (SQLite would fail one at once with "locked").
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # A read-only scope takes no write lock: WAL lets it read beside a writer, even one
        # held by an enclosing transaction of the same thread (IMMEDIATE would wait on itself).
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("nebhx_read_only") else "BEGIN IMMEDIATE")


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        # Pooled: opening the file and setting its PRAGMAs on every transaction was most of
        # a node's cost. A worker's forked child drops what it inherited (dispose_all).
        engine = create_engine(url, connect_args={"timeout": 30}, pool_size=5, max_overflow=10)
        _sqlite_pragmas(engine)
    else:
        engine = create_engine(url, pool_recycle=300, pool_size=5, max_overflow=10)
        _pg_session(engine)
    return engine


def _pg_session(engine: Engine) -> None:
    # Each node ends in two short commits; waiting for the WAL flush on each would be most
    # of the engine's per-node cost. Without it a crash of PostgreSQL itself may forget the
    # last few hundred milliseconds of transitions (never half of one): those nodes are
    # then found queued or running and dispatched again by the sweep, as after a lost worker.
    from nebhx.settings import get_settings
    mode = get_settings().pg_synchronous_commit

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET synchronous_commit = {mode}")
        dbapi_conn.commit()


def dispose_all() -> None:
    """After a fork: drop connections inherited from the parent without closing them."""
    for url in list(_migrated) or []:
        get_engine(url).dispose(close=False)


@lru_cache(maxsize=8)
def _sessionmaker(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


def migrate(url: str) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection_url"] = url
    engine = get_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # The API, workers and agents may all start on a fresh database at once.
            conn.execute(text("SELECT pg_advisory_xact_lock(7245001)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    from nebhx.settings import get_settings
    url = url or get_settings().db_url
    if url not in _migrated:
        with _migrate_lock:  # Alembic's context is process-global: one migration at a time
            if url not in _migrated:
                migrate(url)
                _migrated.add(url)
    return _sessionmaker(url)


@lru_cache(maxsize=8)
def _autocommit_engine(url: str) -> Engine | None:
    engine = get_engine(url)
    return engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else None


@contextmanager
def session_scope(url: str | None = None, *, autocommit: bool = False,
                  read_only: bool = False) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error.

    ``autocommit`` (PostgreSQL only, ignored elsewhere): every statement commits on its own,
    for a step that is one statement and should cost one round trip. ``read_only``: a scope
    that only reads (SQLite: no write lock), safe to open while another transaction is open.
    """
    from nebhx.settings import get_settings
    url = url or get_settings().db_url
    bind = _autocommit_engine(url) if autocommit else None
    if read_only and bind is None:
        bind = get_engine(url).execution_options(nebhx_read_only=True)
    with session_factory(url)(**({"bind": bind} if bind is not None else {})) as session:
        with session.begin():
            yield session


def get_session() -> Iterator[Session]:
    """A request's session, as a FastAPI dependency (nebhx.store.deps.DbSession): one transaction
    for the whole route, committed before the answer is sent."""
    with session_scope() as session:
        yield session
