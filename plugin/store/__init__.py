"""The store: one database (SQLite file by default, PostgreSQL via DATABASE_URL), migrated by Alembic at start.

    store = Store.from_settings(settings)        # engine + sessions; runs the migrations
    with store.transaction() as db: ...          # one transaction (SQLite: BEGIN IMMEDIATE, one writer at a time)

Modules: models.py (tables), events.py (accept), evidence.py (evidence of a case group), cases.py (dirty
markers, locks), chargeitems.py (the embedded EHR's ChargeItems), subscriptions.py (Subscription state).
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from plugin.errors import StoreUnavailable

MIGRATIONS = Path(__file__).with_name("migrations")


class Store:
    def __init__(self, url: str, migrate: bool = True) -> None:
        self.url = _driver_url(url)
        self.kind = "postgresql" if self.url.startswith("postgresql") else "sqlite"
        self.engine = _engine(self.url, self.kind)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            self.migrate()

    @classmethod
    def from_settings(cls, settings, migrate: bool = True) -> "Store":
        if settings.database_url.startswith("sqlite"):
            settings.home.mkdir(parents=True, exist_ok=True)
        return cls(settings.database_url, migrate)

    def migrate(self) -> None:
        """Alembic upgrade to head (PostgreSQL: under an advisory lock, so processes starting together agree)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as conn:
                if self.kind == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_number("dwcoder-migrate")})
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise StoreUnavailable(f"database {self.describe()} cannot be migrated: {_short(exc)}") from None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessions() as session:
            with session.begin():
                yield session

    def describe(self) -> str:
        """The URL without its password (for messages and doctor)."""
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def lock_number(key: str) -> int:
    """A signed 64-bit number for a PostgreSQL advisory lock on `key`."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


def _driver_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _engine(url: str, kind: str) -> Engine:
    """hide_parameters: a database error's message never quotes the values (event bodies, references)."""
    if kind == "postgresql":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, hide_parameters=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # pysqlite: let the begin hook below emit BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # one writer at a time: the SQLite per-case lock

    return engine


def _short(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).splitlines()[0][:200]
