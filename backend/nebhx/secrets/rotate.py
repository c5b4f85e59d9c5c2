"""Rotate the key that seals secrets, on the control plane, against the store itself.

Crash-safe by order: the new key is written first in the key file (beside the old ones),
every sealed value is re-sealed with it in one durable transaction, and only then are
the old keys dropped. At every moment the file holds a key for every sealed value.
"""
from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON, Column, Table, Text, and_, cast, or_, select, text, tuple_, update
from sqlalchemy.engine import Connection

from nebhx.sealing import keys
from nebhx.sealing.crypto import SEALED, is_sealed
from nebhx.store.models import Base, SecretRow

BATCH = 500


class RotateRefused(RuntimeError):
    """The key cannot be rotated here (it comes from the environment, or a value is unreadable)."""


class _Resealer:
    """Re-seals tokens with the newest key; leaves those already sealed with it alone."""

    def __init__(self, new: str, old: list[str]):
        self.newest = Fernet(new.encode())
        self.all = MultiFernet([self.newest, *(Fernet(k.encode()) for k in old)])
        self.count = 0

    def token(self, token: str) -> str | None:
        try:
            self.newest.decrypt(token.encode())
            return None
        except InvalidToken:
            pass
        try:
            fresh = self.all.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise RotateRefused("a sealed value opens with no key of the key file; nothing was "
                                "re-sealed and the old keys are kept") from exc
        self.count += 1
        return fresh

    def tree(self, obj: Any) -> tuple[Any, bool]:
        """``obj`` with every sealed value re-sealed, and whether anything changed."""
        if is_sealed(obj) and isinstance(obj[SEALED], str):
            fresh = self.token(obj[SEALED])
            return ({SEALED: fresh}, True) if fresh else (obj, False)
        if isinstance(obj, dict):
            pairs = {k: self.tree(v) for k, v in obj.items()}
            return {k: v for k, (v, _) in pairs.items()}, any(c for _, c in pairs.values())
        if isinstance(obj, list):
            pairs = [self.tree(v) for v in obj]
            return [v for v, _ in pairs], any(c for _, c in pairs)
        return obj, False


def rotate_key(url: str | None = None) -> int:
    """Put a new key in force and re-seal every stored value with it; the number re-sealed."""
    if keys.env_key():
        raise RotateRefused("the key comes from NEBHX_SECRET_KEY, so it must be rotated by hand: "
                            "unset it to use the key file, or re-store every secret under a new key")
    with _rotation_lock():
        old = keys.current_keys()
        new = Fernet.generate_key().decode()
        keys.write_keys([new, *old])
        resealer = _Resealer(new, old)
        _reseal_store(url, resealer)
        # A second pass catches values sealed with an old key by a transaction that was
        # already open while the new key was written.
        _reseal_store(url, resealer)
        keys.write_keys([new])
    return resealer.count


@contextmanager
def _rotation_lock() -> Iterator[None]:
    path = keys.key_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _reseal_store(url: str | None, resealer: _Resealer) -> None:
    from nebhx.store.db import session_scope
    with session_scope(url) as session:
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            # The engine commits asynchronously; this commit must be on disk before the old
            # keys leave the file, or a crash of PostgreSQL could bring back old-key values.
            conn.execute(text("SET LOCAL synchronous_commit = on"))
        _reseal_secrets(conn, resealer)
        for table, columns in _json_columns():
            _reseal_table(conn, table, columns, resealer)


def _reseal_secrets(conn: Connection, resealer: _Resealer) -> None:
    table = SecretRow.__table__
    for name, token in conn.execute(select(table.c.name, table.c.value)).all():
        fresh = resealer.token(token)
        if fresh:
            conn.execute(update(table).where(table.c.name == name).values(value=fresh))


def _json_columns() -> list[tuple[Table, list[Column]]]:
    """Every JSON column of every table: wherever a sealed value may be kept, now or later."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, JSON)]
        if columns:
            found.append((table, columns))
    return found


def _reseal_table(conn: Connection, table: Table, columns: list[Column], resealer: _Resealer) -> None:
    pk = list(table.primary_key.columns)
    maybe = or_(*(cast(c, Text).like(f'%"{SEALED}"%') for c in columns))  # a cheap first sieve
    last = None
    while True:
        stmt = select(*pk, *columns).where(maybe).order_by(*pk).limit(BATCH)
        if last is not None:
            stmt = stmt.where(tuple_(*pk) > tuple_(*last))
        rows = conn.execute(stmt).all()
        for row in rows:
            _reseal_row(conn, table, pk, columns, row, resealer)
        if len(rows) < BATCH:
            return
        last = tuple(rows[-1][:len(pk)])


def _reseal_row(conn: Connection, table: Table, pk: list[Column], columns: list[Column], row: Any,
                resealer: _Resealer) -> None:
    changed = {}
    for i, column in enumerate(columns):
        fresh, did = resealer.tree(row[len(pk) + i])
        if did:
            changed[column.name] = fresh
    if changed:
        where = and_(*(c == v for c, v in zip(pk, row[:len(pk)])))
        conn.execute(update(table).where(where).values(changed))
