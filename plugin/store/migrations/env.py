"""Alembic environment: run programmatically by Store.migrate() on the connection it passes in."""
from alembic import context

from plugin.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` command line: use sqlalchemy.url from the config
    from sqlalchemy import create_engine

    connection = create_engine(context.config.get_main_option("sqlalchemy.url")).connect()
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
