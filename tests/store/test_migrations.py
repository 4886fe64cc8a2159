"""Alembic migrations: run at start, idempotent, and in step with the models (no pending autogenerate diff)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from plugin.store import Store
from plugin.store.schema import Base


def test_migrations_create_every_table_and_match_the_models(database_url):
    store = Store(database_url)
    store.migrate()  # a second run changes nothing
    tables = set(inspect(store.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables and "alembic_version" in tables
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    store.dispose()
