import pytest

from plugin.errors import SourceRefused
from plugin.evidence.fhir import read_fhir_json
from plugin.sources.notifications import KINDS, read_notification, subscription_id
from tests.sources.shapes import BASE, SHAPES, procedure


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind, expected", [("handshake", "handshake"), ("heartbeat", "heartbeat"),
                                            ("event-notification", "event"), ("query-status", "query-status"),
                                            ("query-event", "query-event")])
def test_kinds_in_every_shape(shape, kind, expected):
    note = read_notification(SHAPES[shape](kind, count=4))
    assert (note.kind, note.subscription_id, note.events_since_start) == (expected, "admission", 4)


@pytest.mark.parametrize("shape", SHAPES)
def test_events_resources_and_references(shape):
    body = SHAPES[shape]("event-notification", count=7, resources=[procedure("p1")],
                         events=[{"n": 6, "focus": [f"{BASE}/Procedure/p1"], "context": [f"{BASE}/Patient/pt1"]},
                                 {"n": 7, "focus": [f"{BASE}/Encounter/e1"]}])
    note = read_notification(body)
    assert note.event_numbers == (6, 7)
    assert [r["id"] for r in note.resources] == ["p1"]
    assert note.events[0].references == (f"{BASE}/Procedure/p1", f"{BASE}/Patient/pt1")


def test_entries_without_a_resource_are_bare_references():
    note = read_notification(SHAPES["R5"]("event-notification", events=[{"n": 1}], bare=[f"{BASE}/Encounter/e9"]))
    assert note.bare_references == (f"{BASE}/Encounter/e9",) and not note.resources


@pytest.mark.parametrize("body", [procedure(), {"resourceType": "Bundle", "type": "transaction", "entry": []},
                                  {"resourceType": "Bundle", "type": "history", "entry": [{"resource": procedure()}]}])
def test_anything_else_is_a_plain_resource(body):
    assert read_notification(body).kind == "resource"


def test_an_unknown_notification_type_is_refused_with_its_path():
    with pytest.raises(SourceRefused, match="not a notification type") as err:
        read_notification(SHAPES["R4B"]("poke"))
    assert err.value.status == 422 and err.value.expression.endswith(".type")


@pytest.mark.parametrize("shape", ["R4", "R4B"])
def test_a_non_numeric_event_count_is_refused(shape):
    body = SHAPES[shape]("heartbeat")
    status = body["entry"][0]["resource"]
    if shape == "R4":
        status["parameter"][4]["valueString"] = "many"
    else:
        status["eventsSinceSubscriptionStart"] = "many"
    with pytest.raises(SourceRefused, match="not a whole number") as err:
        read_notification(body)
    assert "many" not in str(err.value)


def test_subscription_ids():
    assert subscription_id(f"{BASE}/Subscription/admission") == "admission"
    assert subscription_id("Subscription/123/_history/2") == "123"
    assert subscription_id("Patient/123") == ""


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ["handshake", "event-notification", "query-event"])
def test_the_endpoint_reads_the_status_as_the_evidence_reader_does(shape, kind):
    body = SHAPES[shape](kind, count=7, events=[{"n": 6, "focus": [f"{BASE}/Procedure/p1"], "context": [f"{BASE}/Patient/pt1"]},
                                                {"n": 7, "focus": [f"{BASE}/Encounter/e1"]}])
    note = read_notification(body)
    (read,) = read_fhir_json("n.json", body).notifications
    assert (KINDS[read.type], f"Subscription/{note.subscription_id}") == (note.kind, read.subscription)
    assert (read.event_numbers, read.events_since_start, read.status) == (note.event_numbers, note.events_since_start, note.status)


@pytest.mark.parametrize("bad", [["event-notification"], {"code": "heartbeat"}, 7])
def test_a_notification_type_that_is_no_code_is_refused_not_a_crash(bad):
    body = SHAPES["R5"]("heartbeat")
    body["entry"][0]["resource"]["type"] = bad
    with pytest.raises(SourceRefused, match="not a notification type") as err:
        read_notification(body)
    assert err.value.status == 422
