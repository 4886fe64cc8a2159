"""id-only ("fetch") and empty-notification ("requery") events read through the FHIR client from the configured
base only; the EHR failing for a while is retried with backoff by the local queue."""
from __future__ import annotations

import json
import time

import httpx
import pytest
from sqlalchemy import select

from plugin import feed, pipeline
from plugin.ehr import FhirClient
from plugin.store import Store
from plugin.store.events import EventIn, accept, accept_and_enqueue
from plugin.store.models import DeadLetter, Event
from tests.pipeline.conftest import EXAMPLE, PRACTICE
from tests.pipeline.runner import active, cli_items, drain
from tests.store.databases import empty, settings_for

@pytest.fixture
def ctx(fhir_ctx):  # the real FHIR test server behind the pipeline
    return fhir_ctx


def _put_all(base: str, resources: list[dict]) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:
        for r in resources:
            answer = http.put(f"/{r['resourceType']}/{r['id']}", json=r, headers={"content-type": "application/fhir+json"})
            assert answer.status_code in (200, 201), answer.text


def test_id_only_and_requery_events_read_the_server(ctx, fhir_base_url):
    resources = feed.folder_resources(EXAMPLE)
    _put_all(fhir_base_url, resources)
    half = len(resources) // 2
    refs = [f"{r['resourceType']}/{r['id']}" for r in resources[:half]]
    files = [e for e in feed.folder_events(EXAMPLE) if e.kind != "fhir"]
    types = sorted({r["resourceType"] for r in resources[half:]})
    accept(ctx.store, [EventIn("subscription:s1", "fetch", "s1#1", "application/json", json.dumps(refs).encode()),
                       EventIn("subscription:s1", "requery", "s1#2", "application/json",
                               json.dumps({"types": types, "since": None}).encode()), *files])
    drain(ctx)
    assert active(FhirClient(fhir_base_url).search("ChargeItem", {})) == cli_items(EXAMPLE, PRACTICE)


def test_a_reference_outside_the_base_is_never_fetched(ctx, fhir_server):
    before = fhir_server.stats()
    [ev] = accept(ctx.store, [EventIn("subscription:s1", "fetch", "s1#9", "application/json",
                                      json.dumps(["https://elsewhere.example/fhir/Patient/p1"]).encode())])
    assert pipeline.process_event(ctx, ev.event_id) == "dead"
    with ctx.store.sessions() as s:
        assert s.scalar(select(DeadLetter.reason).where(DeadLetter.event_id == ev.event_id)) == "ForeignUrl"
    assert fhir_server.stats() == before  # no request reached the server


def test_the_local_queue_retries_while_the_ehr_fails(database_url, tmp_path, fhir_server):
    settings = settings_for(database_url, tmp_path, DWCODER_PRACTICE=PRACTICE, FHIR_BASE_URL=fhir_server.base_url)
    ctx = pipeline.Context(settings, Store(database_url))
    empty(ctx.store)
    fhir_server.control("POST", "$fail", {"status": 503, "count": 4})
    monkey = pipeline.backoff_s
    pipeline.backoff_s = lambda attempt, base=0.05, cap=0.5: monkey(attempt, base, cap)  # fast backoff for the test
    local = pipeline.start_local(ctx, sweep_every_s=60)
    try:
        accept_and_enqueue(ctx.store, settings, feed.folder_events(EXAMPLE))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (pipeline.settled(ctx) and local.idle()):
            time.sleep(0.05)
    finally:
        local.stop()
        pipeline.backoff_s = monkey
    assert active(FhirClient(fhir_server.base_url).search("ChargeItem", {})) == cli_items(EXAMPLE, PRACTICE)
    with ctx.store.sessions() as s:
        assert s.scalar(select(DeadLetter.id)) is None
        assert set(s.scalars(select(Event.status))) == {"done"}
    ctx.store.dispose()
