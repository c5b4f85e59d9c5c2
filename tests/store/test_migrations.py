"""The Alembic migrations create exactly the schema the models describe, on both stores."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nebhx.store.db import get_engine, migrate
from nebhx.store.models import Base


@pytest.mark.empty_store  # from nothing, not from the migrated template
def test_migrations_match_models(db_url):
    migrate(db_url)
    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    get_engine(db_url).dispose()
