"""Every contract case and every case of tests/cases, sent as events in shuffled order with every event
duplicated, ends with exactly the ChargeItems `dwcoder suggest --format fhir` gives for the same folder:
on SQLite and PostgreSQL, in the embedded ChargeItem store."""
from __future__ import annotations

import pytest

from plugin import feed, pipeline
from tests.pipeline.runner import CONTRACT, active, case_folders, cli_items, drain, local_items, messy, practice_of, send_direct
from tests.store.databases import empty, settings_for

FOLDERS = case_folders()


def test_contract_cases_are_there():
    if not CONTRACT.is_dir():
        pytest.skip(f"contract cases not found at {CONTRACT} (../shared/contract/cases beside the repository)")
    assert any(f.parent == CONTRACT for f in FOLDERS)


@pytest.fixture
def ctx_factory(database_url, tmp_path):
    made = []

    def make(practice: str, **extra):
        ctx = pipeline.Context(settings_for(database_url, tmp_path, DWCODER_PRACTICE=practice, **extra),
                               _store(database_url))
        empty(ctx.store)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.store.dispose()


def _store(url):
    from plugin.store import Store

    return Store(url)


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_pipeline_gives_the_cli_chargeitems(folder, ctx_factory):
    practice = practice_of(folder)
    want = cli_items(folder, practice)
    ctx = ctx_factory(practice)
    send_direct(ctx, messy(feed.folder_events(folder), seed=len(folder.name)))
    drain(ctx)
    got = active(local_items(ctx))
    assert [i["code"] for i in got] == [i["code"] for i in want]
    assert got == want


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_pipeline_gives_the_cli_chargeitems_at_the_fhir_server(folder, ctx_factory, fhir_base_url):
    from plugin.ehr import FhirClient

    practice = practice_of(folder)
    want = cli_items(folder, practice)
    ctx = ctx_factory(practice, FHIR_BASE_URL=fhir_base_url)
    send_direct(ctx, messy(feed.folder_events(folder), seed=len(folder.name) + 1))
    drain(ctx)
    got = active(FhirClient(fhir_base_url).search("ChargeItem", {}))
    assert got == want
    assert len({i["identifier"][0]["value"] for i in got}) == len(got)  # one ChargeItem per line
