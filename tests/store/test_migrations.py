"""Alembic migrations: run at start, idempotent, and in step with the models (no pending autogenerate diff)."""
from __future__ import annotations


import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

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


def _upgrade(store: Store, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from plugin.store import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    """An empty database of each kind, not migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    from tests.store.databases import own_database

    with own_database() as url:
        yield url


def test_records_stored_before_give_the_encounter_they_name(fresh_url):
    """Stored before a clinical record gave its Encounter: the migration adds those rows, and marks dirty the groups
    that share an Encounter with another group (only those)."""
    from plugin.store.models import Case, Evidence
    from plugin.store.refs import GIVES, NEEDS, EvidenceRef

    store = Store(fresh_url, migrate=False)
    _upgrade(store, "i9_auth")
    rows = [("Procedure/his", "Patient/a", "Encounter/e1"), ("Procedure/hers", "Patient/b", "Encounter/e1"),
            ("Procedure/alone", "Patient/c", "Encounter/e3")]
    with store.transaction() as s:
        for key, group, enc in rows:
            s.add(Evidence(key=key, case_key=group, kind="fhir", data=b"{}"))
            s.add(EvidenceRef(evidence_key=key, role=NEEDS, ref=enc))
            s.add(Case(key=group, dirty=False))
        s.add(Evidence(key="Encounter/e3", case_key="Patient/c", kind="fhir", data=b"{}"))
        s.add(EvidenceRef(evidence_key="Encounter/e3", role=GIVES, ref="Encounter/e3"))
    store.migrate()
    with store.sessions() as s:
        gives = sorted((r.evidence_key, r.ref) for r in s.scalars(select(EvidenceRef).where(EvidenceRef.role == GIVES)))
        dirty = sorted(s.scalars(select(Case.key).where(Case.dirty.is_(True))))
    store.dispose()
    assert gives == [("Encounter/e3", "Encounter/e3"), ("Procedure/alone", "Encounter/e3"),
                     ("Procedure/hers", "Encounter/e1"), ("Procedure/his", "Encounter/e1")]
    assert dirty == ["Patient/a", "Patient/b"]
