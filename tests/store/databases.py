"""Real databases for the tests: a SQLite file per test, and a PostgreSQL database created per test session
(unique name, migrated with Alembic by the Store, emptied between tests, dropped at the end).

PostgreSQL: 127.0.0.1:5432 with trust auth (DWCODER_TEST_PG overrides the server URL, without a database).
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import text

PG_SERVER = os.environ.get("DWCODER_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
TABLES = ("postings", "suggestions", "local_provenance", "local_charge_items", "dead_letters", "events", "evidence",
          "patient_links", "cases", "subscription_state", "evidence_refs")
REVIEW_TABLES = ("review_audit", "review_lines", "review_cases")  # issue 9 (PostgreSQL: TRUNCATE passes the audit's triggers)
CDS_TABLES = ("cds_jti", "cds_cards")  # issue 10
AUTH_TABLES = ("auth_sessions", "login_throttle", "oidc_logins", "users")  # issue 9 (sign-in)


def _admin():
    import psycopg

    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5)


@contextmanager
def own_database(before_drop=lambda: None):
    """A PostgreSQL database of its own (unique name): its URL; dropped afterwards."""
    name = f"dwcoder_test_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        before_drop()
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _dispose_contexts() -> None:
    from plugin.context import _CONTEXT

    for ctx in list(_CONTEXT.values()):
        ctx.store.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    with own_database(_dispose_contexts) as url:
        yield url


def empty(store) -> None:
    with store.transaction() as s:
        if store.kind == "postgresql":
            s.execute(text(f"TRUNCATE {', '.join(TABLES + REVIEW_TABLES + CDS_TABLES + AUTH_TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                s.execute(text(f"DELETE FROM {table}"))
        s.execute(text("UPDATE latency_buckets SET count = 0, total_s = 0"))  # issue 11: its rows are the buckets


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dwcoder.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    from plugin.store import Store

    store = Store(url)
    empty(store)
    store.dispose()
    yield url


def settings_for(database_url: str, home, **extra):
    from plugin.settings import Settings

    env = {"DWCODER_HOME": str(home), "DATABASE_URL": database_url, "DWCODER_SETTLE_S": "0", **extra}
    return Settings.from_env({k: str(v) for k, v in env.items()}, dotenv=None)
