"""Helpers for the secrets tests: read a store cell by cell, find sealed tokens."""
from __future__ import annotations

import sqlalchemy as sa


def every_cell(url: str) -> str:
    """Every column of every row of every table of the store, as text."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            cells = []
            for table in sa.inspect(conn).get_table_names():
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                    cells += [f"{table}: {value}" for value in row]
            return "\n".join(cells)
    finally:
        engine.dispose()


def sealed_tokens(obj) -> list[str]:
    """Every sealed token inside a JSON value."""
    if isinstance(obj, dict):
        if set(obj) == {"$enc"}:
            return [obj["$enc"]]
        return [t for v in obj.values() for t in sealed_tokens(v)]
    if isinstance(obj, list):
        return [t for v in obj for t in sealed_tokens(v)]
    return []
