"""GET /healthz (liveness), /readyz (database, Redis, FHIR server) and /metrics, on the real app and store.

The metrics test sends a case's files as signed webhooks over HTTP, runs the pipeline's own functions on what was
queued (embedded ChargeItem store), and reads the counts back from /metrics."""
from __future__ import annotations

import json

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from plugin import feed, pipeline
from plugin.commands.service import free_port
from plugin.settings import Settings
from plugin.store import Store
from plugin.store.events import EventIn, accept
from tests.pipeline.runner import ROOT, cli_items, drain
from tests.web.conftest import KEY_NEW, Service, whsec

PRACTICE = "http://hl7.org/fhir/sid/us-npi|1234567893"
EXAMPLE = ROOT / "examples" / "orthognathic-planning"
SECRET_PW = "s3cr3t-pw"


def _settings(tmp_path, database_url, **extra) -> Settings:
    env = {"DWCODER_HOME": str(tmp_path), "DATABASE_URL": database_url, "DWCODER_SETTLE_S": "0",
           "DWCODER_PRACTICE": PRACTICE, "WEBHOOK_SOURCES": json.dumps({"lab": [whsec(KEY_NEW)]}), **extra}
    return Settings.from_env(env, dotenv=None)


def test_healthz_answers_while_the_database_is_down(settings, tmp_path):
    down = Store(f"sqlite:///{tmp_path}/missing-folder/none.db", migrate=False)
    r = Service(settings, down).request("GET", "/healthz")
    assert r.status_code == 200 and r.json() == {"status": "up"}


def test_readyz_names_each_part_that_is_down_and_nothing_secret(tmp_path, database_url):
    closed = free_port()
    settings = _settings(tmp_path, database_url, REDIS_URL=f"redis://:{SECRET_PW}@127.0.0.1:{closed}/0",
                         FHIR_BASE_URL=f"http://127.0.0.1:{free_port()}/fhir")
    down = Store(f"sqlite:///{tmp_path}/missing-folder/none.db", migrate=False)
    r = Service(settings, down).request("GET", "/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unready"
    assert set(body["checks"]) == {"database", "redis", "fhir"}
    assert all(value.startswith("down: ") for value in body["checks"].values()), body
    assert SECRET_PW not in r.text and "127.0.0.1" not in r.text and str(closed) not in r.text


def test_readyz_is_ready_with_real_redis_database_and_fhir_server(tmp_path, database_url, fhir_base_url):
    settings = _settings(tmp_path, database_url, REDIS_URL="redis://127.0.0.1:6379/10", FHIR_BASE_URL=fhir_base_url)
    store = Store.from_settings(settings)
    try:
        r = Service(settings, store).request("GET", "/readyz")
    finally:
        store.dispose()
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "redis": "ok", "fhir": "ok"}


def test_readyz_embedded_parts_are_ready_and_a_fhir_outage_can_be_ignored(tmp_path, database_url):
    store = Store.from_settings(_settings(tmp_path, database_url))
    try:
        embedded = Service(_settings(tmp_path, database_url), store).request("GET", "/readyz")
        fhir_down = _settings(tmp_path, database_url, FHIR_BASE_URL=f"http://127.0.0.1:{free_port()}/fhir")
        strict = Service(fhir_down, store).request("GET", "/readyz")
        lenient = Service(fhir_down, store).request("GET", "/readyz?ignore=fhir")
    finally:
        store.dispose()
    assert embedded.status_code == 200 and embedded.json()["checks"] == {"database": "ok", "redis": "embedded", "fhir": "embedded"}
    assert strict.status_code == 503 and strict.json()["checks"]["fhir"].startswith("down: ")
    assert lenient.status_code == 200 and lenient.json()["ignored"] == ["fhir"]
    assert lenient.json()["checks"]["fhir"].startswith("down: ")


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_report_the_events_sent_through_the_pipeline(tmp_path, database_url):
    settings = _settings(tmp_path, database_url)
    store = Store.from_settings(settings)
    try:
        service = Service(settings, store)
        events = feed.folder_events(EXAMPLE)
        for i, event in enumerate(events):
            assert service.webhook("lab", event.body, content_type=event.content_type, msg_id=f"msg_{i}").status_code == 202
        # an event the intake took but no worker can use (the web layer refuses such bodies; the store does not)
        accept(store, [EventIn("webhook:lab", "fhir", "webhook:lab:broken", "application/fhir+json", b"{broken")])
        ctx = pipeline.Context(settings, store)
        drain(ctx)
        before = _samples(service.request("GET", "/metrics").text)
        service.webhook("lab", events[0].body, content_type=events[0].content_type, msg_id="msg_0")  # a redelivery
        after = service.request("GET", "/metrics")
    finally:
        store.dispose()
    assert after.headers["content-type"].startswith("text/plain")
    got = _samples(after.text)
    src = (("source", "webhook:lab"),)
    sent = len(events) + 1
    assert got[("dwcoder_events_received_total", src)] == sent == before[("dwcoder_events_received_total", src)]
    failed = got[("dwcoder_events_failed_total", src)]
    assert failed == 1 and got[("dwcoder_events_processed_total", src)] == sent - failed
    assert sum(v for (name, _), v in got.items() if name == "dwcoder_dead_letters") == failed
    assert got[("dwcoder_events_pending", src + (("status", "queued"),))] == 0
    lines = cli_items(EXAMPLE, PRACTICE)
    assert got[("dwcoder_suggestions", (("status", "active"),))] == len(lines) > 0
    assert got[("dwcoder_suggestion_decisions", (("decision", "pending"),))] == len(lines)
    count = got[("dwcoder_chargeitem_latency_seconds_count", ())]
    assert 1 <= count <= len(events)
    assert got[("dwcoder_chargeitem_latency_seconds_bucket", (("le", "+Inf"),))] == count
    assert got[("dwcoder_chargeitem_latency_seconds_sum", ())] > 0
    assert all(v == 0 for (name, _), v in got.items() if name == "dwcoder_scrape_error")


def test_metrics_report_the_celery_queue_depth_from_redis(tmp_path, database_url):
    url = "redis://127.0.0.1:6379/10"
    client = redis.Redis.from_url(url)
    client.delete("celery")
    client.rpush("celery", "a", "b", "c")
    store = Store.from_settings(_settings(tmp_path, database_url, REDIS_URL=url))
    try:
        text = Service(_settings(tmp_path, database_url, REDIS_URL=url), store).request("GET", "/metrics").text
    finally:
        store.dispose()
        client.delete("celery")
    assert _samples(text)[("dwcoder_queue_depth", (("queue", "celery"),))] == 3


@pytest.mark.parametrize("status,decision", [("billable", "accepted"), ("not-billable", "rejected")])
def test_a_reviewers_status_in_the_embedded_store_counts_as_a_decision(tmp_path, database_url, status, decision):
    from sqlalchemy import update

    from plugin.store.models import LocalChargeItem

    settings = _settings(tmp_path, database_url)
    store = Store.from_settings(settings)
    try:
        service = Service(settings, store)
        for i, event in enumerate(feed.folder_events(EXAMPLE)):
            service.webhook("lab", event.body, content_type=event.content_type, msg_id=f"m{i}")
        drain(pipeline.Context(settings, store))
        with store.transaction() as s:
            one = s.scalars(LocalChargeItem.__table__.select().with_only_columns(LocalChargeItem.id).limit(1)).first()
            s.execute(update(LocalChargeItem).where(LocalChargeItem.id == one).values(status=status))
        got = _samples(service.request("GET", "/metrics").text)
    finally:
        store.dispose()
    assert got[("dwcoder_suggestion_decisions", (("decision", decision),))] == 1
