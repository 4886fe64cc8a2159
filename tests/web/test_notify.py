import json

import pytest

from tests.sources.shapes import BASE, SHAPES, procedure
from tests.web.conftest import outcome_of


@pytest.mark.parametrize("shape", SHAPES)
def test_handshake_then_full_resource_events_are_stored_and_queued(service, shape):
    r = service.notify("admission", SHAPES[shape]("handshake", count=0))
    assert r.status_code == 200 and r.json()["kind"] == "handshake"
    assert service.stored() == 0 and service.queued == [] and service.subscription_rows() == 1
    body = SHAPES[shape]("event-notification", count=1, resources=[procedure("p1", "2")],
                         events=[{"n": 1, "focus": [f"{BASE}/Procedure/p1"]}])
    r = service.notify("admission", body, headers={"x-correlation-id": "corr-42"})
    assert r.status_code == 202 and r.headers["x-correlation-id"] == "corr-42"
    (event,) = service.events()
    assert (event.kind, event.dedup_key, event.source, event.correlation_id) == \
        ("fhir", "Procedure/p1/_history/2", "subscription:admission", "corr-42")
    assert json.loads(event.body)["id"] == "p1"
    assert service.queued == [event.id]


def test_a_redelivered_notification_is_not_queued_twice(service):
    body = SHAPES["R4"]("event-notification", count=1, resources=[procedure("p1", "2")], events=[{"n": 1}])
    assert service.notify("admission", body).status_code == 202
    again = service.notify("admission", body)
    assert again.status_code == 200 and again.json()["accepted"][0]["duplicate"] is True
    assert service.stored() == 1 and len(service.queued) == 1


def test_id_only_is_stored_as_a_fetch(service):
    body = SHAPES["R5"]("event-notification", count=1, events=[{"n": 1, "focus": [f"{BASE}/ImagingStudy/s1"]}])
    assert service.notify("admission", body).status_code == 202
    (event,) = service.events()
    assert event.kind == "fetch" and json.loads(event.body) == ["ImagingStudy/s1"]


def test_empty_and_gap_are_requeries(service):
    service.notify("admission", SHAPES["R4B"]("handshake", count=0))
    r = service.notify("admission", SHAPES["R4B"]("event-notification", count=4, events=[{"n": 4}]))
    assert r.status_code == 202
    assert sorted(e.dedup_key for e in service.events()) == ["admission#4", "admission#gap-1-3"]
    assert {e.kind for e in service.events()} == {"requery"} and len(service.queued) == 2


def test_a_heartbeat_that_reveals_missed_events_queues_a_requery(service):
    service.notify("admission", SHAPES["R4"]("handshake", count=0))
    r = service.notify("admission", SHAPES["R4"]("heartbeat", count=2))
    assert r.status_code == 200
    assert [e.dedup_key for e in service.events()] == ["admission#gap-1-2"] and len(service.queued) == 1
    assert service.notify("admission", SHAPES["R4"]("heartbeat", count=2)).status_code == 200
    assert service.stored() == 1  # the count was noted: no second requery


def test_a_plain_resource_body_is_accepted(service):
    r = service.notify("admission", procedure("p5", "1"))
    assert r.status_code == 202 and service.events()[0].dedup_key == "Procedure/p5/_history/1"


def test_a_subscription_without_a_configured_header_needs_none(service):
    assert service.notify("open", SHAPES["R5"]("heartbeat", sub="open", count=0), header=None).status_code == 200


# ------------------------------------------------------------------ refusals: status, and nothing kept

def test_unknown_subscription(service):
    r = service.notify("nobody", SHAPES["R4"]("heartbeat", sub="nobody"))
    assert r.status_code == 401 and "unknown subscription" in outcome_of(r)["diagnostics"]
    assert service.nothing_kept()


@pytest.mark.parametrize("header", [None, "Bearer wrong", "sub-t0k"])
def test_wrong_channel_header(service, header):
    r = service.notify("admission", SHAPES["R4"]("heartbeat"), header=header)
    assert r.status_code == 401 and outcome_of(r)["code"] == "security"
    assert service.nothing_kept()


def test_broken_json(service):
    r = service.notify("admission", b'{"resourceType": "Bundle", "entry": [')
    assert r.status_code == 400 and outcome_of(r)["code"] == "structure"
    assert service.nothing_kept()


def test_invalid_fhir_names_path_and_field(service):
    bad = procedure("p1", "1")
    bad["performedDateTime"] = "Jane Roe 1970"
    body = SHAPES["R4"]("event-notification", resources=[bad], events=[{"n": 1}])
    r = service.notify("admission", body)
    issue = outcome_of(r)
    assert r.status_code == 422 and issue["expression"] == ["Bundle.entry[1].resource.performedDateTime"]
    assert "Jane" not in r.text
    assert service.nothing_kept()


def test_id_only_outside_the_fhir_base(service):
    body = SHAPES["R4B"]("event-notification", events=[{"n": 1, "focus": ["https://attacker.example/fhir/Procedure/p1"]}])
    r = service.notify("admission", body)
    assert r.status_code == 422 and "attacker" not in r.text
    assert service.nothing_kept()


def test_notification_for_another_subscription(service):
    r = service.notify("admission", SHAPES["R5"]("heartbeat", sub="someone-else"))
    assert r.status_code == 422
    assert service.nothing_kept()


def test_not_json_media_type(service):
    r = service.notify("admission", b"<Bundle/>", headers={"content-type": "application/fhir+xml"})
    assert r.status_code == 415 and outcome_of(r)["code"] == "not-supported"
    assert service.nothing_kept()


def test_a_subscription_silent_for_two_heartbeat_periods_is_requeried(service):
    from datetime import datetime, timedelta, timezone

    from plugin.store.models import SubscriptionState

    quiet_since = datetime.now(timezone.utc) - timedelta(minutes=10)
    with service.store.transaction() as session:
        session.add(SubscriptionState(subscription_id="admission", events_since_start=3,
                                      last_heartbeat_at=quiet_since, heartbeat_period_s=60))
    assert service.notify("admission", SHAPES["R5"]("heartbeat", count=3)).status_code == 200
    (event,) = service.events()
    assert event.kind == "requery" and event.dedup_key.startswith("admission#silence-")
    assert json.loads(event.body)["since"].startswith(quiet_since.isoformat()[:19])
    assert service.notify("admission", SHAPES["R5"]("heartbeat", count=3)).status_code == 200
    assert service.stored() == 1  # heard from again: no new requery
