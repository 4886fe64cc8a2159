import json
from datetime import datetime, timedelta, timezone

import pytest

from plugin.errors import SourceRefused
from plugin.sources.config import subscription_source
from plugin.sources.notifications import read_notification
from plugin.sources.subscriptions import Seen, check_channel_header, check_subscription, notification_events, \
    resource_event
from tests.sources.shapes import BASE, SHAPES, procedure

SUB = subscription_source("admission", {"header": "Authorization: Bearer t0k", "types": ["Procedure", "ImagingStudy"]})
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


def events(body, seen=None, sub=SUB, base=BASE, now=NOW):
    return notification_events(sub, read_notification(body), base, seen, now, "cid-1")


@pytest.mark.parametrize("shape", SHAPES)
def test_full_resource_gives_one_fhir_event_per_resource(shape):
    body = SHAPES[shape]("event-notification", count=1, resources=[procedure("p1", "3"), procedure("p2", None)],
                         events=[{"n": 1, "focus": [f"{BASE}/Procedure/p1"]}])
    out = events(body, Seen(0))
    assert [(e.kind, e.dedup_key) for e in out] == [("fhir", "Procedure/p1/_history/3"), ("fhir", "admission#1/Procedure/p2")]
    assert json.loads(out[0].body)["id"] == "p1"
    assert {e.source for e in out} == {"subscription:admission"} and {e.correlation_id for e in out} == {"cid-1"}


@pytest.mark.parametrize("shape", SHAPES)
def test_id_only_gives_a_fetch_of_relative_references(shape):
    body = SHAPES[shape]("event-notification", count=2,
                         events=[{"n": 2, "focus": [f"{BASE}/Procedure/p1"], "context": ["Patient/pt1"]}])
    (out,) = events(body, Seen(1))
    assert (out.kind, out.dedup_key) == ("fetch", "admission#2")
    assert json.loads(out.body) == ["Procedure/p1", "Patient/pt1"]


@pytest.mark.parametrize("shape", SHAPES)
def test_id_only_outside_the_base_is_refused(shape):
    body = SHAPES[shape]("event-notification", events=[{"n": 1, "focus": ["https://elsewhere.example/fhir/Procedure/p1"]}])
    with pytest.raises(SourceRefused, match="not on the configured FHIR server"):
        events(body, Seen(0))


def test_id_only_without_a_fhir_server_is_refused():
    body = SHAPES["R4"]("event-notification", events=[{"n": 1, "focus": ["Procedure/p1"]}])
    with pytest.raises(SourceRefused, match="FHIR_BASE_URL"):
        events(body, Seen(0), base="")


@pytest.mark.parametrize("shape", SHAPES)
def test_empty_gives_a_requery_since_the_last_contact(shape):
    last = NOW - timedelta(minutes=5)
    (out,) = events(SHAPES[shape]("event-notification", count=3, events=[{"n": 3}]), Seen(2, last))
    assert (out.kind, out.dedup_key) == ("requery", "admission#3")
    assert json.loads(out.body) == {"types": ["Procedure", "ImagingStudy"], "since": last.isoformat()}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_skipped_event_number_adds_a_requery(shape):
    body = SHAPES[shape]("event-notification", count=9, resources=[procedure("p9", "1")],
                         events=[{"n": 9, "focus": ["Procedure/p9"]}])
    out = events(body, Seen(5, NOW - timedelta(hours=1)))
    assert [(e.kind, e.dedup_key) for e in out] == [("fhir", "Procedure/p9/_history/1"), ("requery", "admission#gap-6-8")]


@pytest.mark.parametrize("shape", SHAPES)
def test_a_heartbeat_ahead_of_what_was_seen_requeries(shape):
    (out,) = events(SHAPES[shape]("heartbeat", count=12), Seen(10, NOW - timedelta(minutes=1)))
    assert (out.kind, out.dedup_key) == ("requery", "admission#gap-11-12")


@pytest.mark.parametrize("seen, body", [
    (Seen(4), SHAPES["R4"]("heartbeat", count=4)),
    (Seen(4), SHAPES["R5"]("event-notification", count=5, events=[{"n": 5}], resources=[])),
    (Seen(9), SHAPES["R4B"]("event-notification", count=5, events=[{"n": 5, "focus": ["Procedure/p1"]}])),  # a late redelivery
    (None, SHAPES["R4"]("handshake", count=0)),
])
def test_no_gap_no_requery_for_the_sequence(seen, body):
    assert not [e for e in events(body, seen) if "#gap" in e.dedup_key or "#silence" in e.dedup_key]


def test_a_missed_heartbeat_requeries_from_the_last_contact():
    sub = subscription_source("admission", {"heartbeat_period_s": 60})
    last = NOW - timedelta(seconds=121)
    (out,) = events(SHAPES["R4"]("heartbeat", count=3), Seen(3, last), sub=sub)
    assert out.kind == "requery" and out.dedup_key == f"admission#silence-{last.isoformat()}"
    assert events(SHAPES["R4"]("heartbeat", count=3), Seen(3, NOW - timedelta(seconds=119)), sub=sub) == []


def test_the_same_notification_gives_the_same_keys():
    body = SHAPES["R4B"]("event-notification", count=2, events=[{"n": 2}])
    assert events(body, Seen(0)) == events(body, Seen(0))


def test_channel_header():
    check_channel_header(SUB, {"authorization": "Bearer t0k"})
    for offered in ({}, {"authorization": "Bearer nope"}, {"authorization": "Bearer t0k2"}):
        with pytest.raises(SourceRefused, match="channel.header") as err:
            check_channel_header(SUB, offered)
        assert err.value.status == 401 and "t0k" not in str(err.value)
    check_channel_header(subscription_source("open", None), {})


def test_a_notification_for_another_subscription_is_refused():
    with pytest.raises(SourceRefused, match="another Subscription"):
        check_subscription(SUB, read_notification(SHAPES["R5"]("heartbeat", sub="other")))


def test_plain_resource_keys():
    raw = json.dumps(procedure("p1", "7")).encode()
    assert resource_event("s", raw, json.loads(raw)).dedup_key == "Procedure/p1/_history/7"
    raw = json.dumps(procedure("p1", None)).encode()
    assert resource_event("s", raw, json.loads(raw)).dedup_key.startswith("sha256:")
