"""Fresh stores for tests: a SQLite file or a PostgreSQL database, each a copy of a store
migrated once per pytest process.

A PostgreSQL copy (CREATE DATABASE ... TEMPLATE) and its DROP each cost PostgreSQL a few
hundred milliseconds of disk work, hundreds of times per lane. They are made on a thread of
their own, one copy ahead of the test that takes it, and dropped there after: the server works
while the tests run, instead of the tests waiting on it one database at a time.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any, Callable

AHEAD = 1  # copies made before they are asked for: enough to hide one copy's time


@cache
def pg_admin_url() -> str:
    """NEBHX_TEST_PG_URL, else the local server; fail loudly when there is none."""
    url = os.environ.get("NEBHX_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    try:
        with _admin(url).connect() as conn:
            conn.exec_driver_sql("select 1")
    except Exception as exc:
        raise RuntimeError(f"PostgreSQL is not reachable at {url}: {exc}. Start it (the README's test "
                           "command does) or set NEBHX_TEST_PG_URL") from exc
    return url


@cache
def _admin(url: str) -> Any:
    import sqlalchemy as sa
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


_templates: dict[str, str] = {}  # a migrated store per kind, made once per pytest process


def migrated_template(kind: str) -> str:
    """The URL of a store migrated once per process ("sqlite" or "pg"); fresh stores copy it
    (a file copy, or CREATE DATABASE ... TEMPLATE) instead of running every migration again."""
    if kind not in _templates:
        from nebhx.store.db import get_engine, migrate
        if kind == "pg":
            name = _create(None)
            url = pg_admin_url().rsplit("/", 1)[0] + "/" + name
            atexit.register(_drop, name)
            atexit.register(_copies.close)  # runs first: no copy is being made when the template goes
        else:
            folder = Path(tempfile.mkdtemp(prefix="nebhx-template-"))
            atexit.register(shutil.rmtree, folder, True)
            url = f"sqlite:///{folder / 'template.db'}"
        migrate(url)
        get_engine(url).dispose()  # CREATE DATABASE ... TEMPLATE needs the template unused
        _templates[kind] = url
    return _templates[kind]


def fresh_sqlite_store(path: Path) -> str:
    """A migrated SQLite store at ``path``: a copy of this process's template."""
    shutil.copy(migrated_template("sqlite").removeprefix("sqlite:///"), path)
    return f"sqlite:///{path}"


def _create(template: str | None) -> str:
    name = f"nebhx_test_{uuid.uuid4().hex[:10]}"
    with _admin(pg_admin_url()).connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def _drop(name: str) -> None:
    with _admin(pg_admin_url()).connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _Copies:
    """Copies of the PostgreSQL template made, and databases dropped, on one thread."""

    def __init__(self) -> None:
        self.thread: ThreadPoolExecutor | None = None
        self.ahead: deque[Future[str]] = deque()

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        if self.thread is None:
            self.thread = ThreadPoolExecutor(1, thread_name_prefix="pg-copies")
        return self.thread.submit(fn, *args)

    def take(self, template: str) -> str:
        if not self.ahead:
            self.ahead.append(self._submit(_create, template))
        name = self.ahead.popleft().result()
        while len(self.ahead) < AHEAD:
            self.ahead.append(self._submit(_create, template))
        return name

    def drop(self, name: str) -> None:
        self._submit(_drop, name)

    def close(self) -> None:
        """At exit (the thread has done its queue by then): drop the copies nobody took."""
        for made in self.ahead:
            if not made.cancel() and made.exception() is None:
                _drop(made.result())
        self.ahead.clear()
        if self.thread is not None:
            self.thread.shutdown(wait=True)


_copies = _Copies()


def create_pg_database(template: bool = True) -> tuple[str, Callable[[], None]]:
    """A new PostgreSQL database (migrated: from the template; else empty) and its drop."""
    admin = pg_admin_url()
    name = _copies.take(migrated_template("pg").rsplit("/", 1)[1]) if template else _create(None)
    url = admin.rsplit("/", 1)[0] + "/" + name

    def drop() -> None:
        from nebhx.store.db import get_engine
        get_engine(url).dispose()
        _copies.drop(name)  # WITH (FORCE): whatever still holds a connection is cut off
    return url, drop
