"""Helpers for the secrets tests: read a store cell by cell, as text."""
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

