"""Subscription notifications in every form (R5, Backport IG R4 Parameters-led and R4B SubscriptionStatus-led):
named, and id-only / empty ones say exactly what the pipeline must fetch."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.cli import main
from plugin.evidence.fhir import read_fhir_json
from tests.factories import fhir as f

S = f.SERVER


@pytest.mark.parametrize("kind", ["subscription-notification", "history"])
def test_r5_and_r4b_id_only_focus_in_the_status_is_to_fetch(kind):
    status = f.status_r5(events=[f.event_r5(8, f"{S}/Procedure/p-8", (f"{S}/Patient/pt",))])
    result = read_fhir_json("n.json", f.notification(status, kind=kind))
    (note,) = result.notifications
    assert (note.form, note.type, note.subscription, note.event_numbers) == ("id-only", "event-notification", "Subscription/sub-1", (8,))
    assert result.to_fetch == ["Procedure/p-8", "Patient/pt"]
    assert not result.problems and not result.evidence


def test_r4_parameters_id_only_with_versioned_focus():
    status = f.status_r4(events=[f.event_r4(3, f"{S}/ImagingStudy/img-3/_history/2"), f.event_r4(4, f"{S}/Procedure/p-4")])
    result = read_fhir_json("n.json", f.notification(status))
    (note,) = result.notifications
    assert note.form == "id-only" and note.event_numbers == (3, 4) and note.events_since_start == 7
    assert result.to_fetch == ["ImagingStudy/img-3", "Procedure/p-4"]


def test_entries_with_only_a_full_url_or_request_are_id_only_content():
    status = f.status_r5(events=[f.event_r5(2)])
    bare = [{"fullUrl": f"{S}/Procedure/p-2", "request": {"method": "PUT", "url": "Procedure/p-2"}},
            {"fullUrl": "urn:uuid:abc", "request": {"method": "GET", "url": "Patient/pt-2"}}]
    result = read_fhir_json("n.json", f.notification(status, *bare, kind="subscription-notification"))
    assert result.notifications[0].form == "id-only"
    assert result.to_fetch == ["Procedure/p-2", "Patient/pt-2"]
    assert not result.problems


def test_full_resource_notification_is_read_as_evidence_and_needs_nothing():
    proc = f.procedure("p-5", "cbct")
    status = f.status_r4(events=[f.event_r4(5, f"{S}/Procedure/p-5")])
    result = read_fhir_json("n.json", f.notification(status, {"fullUrl": f"{S}/Procedure/p-5", "resource": proc}))
    assert result.notifications[0].form == "full-resource"
    assert result.to_fetch == [] and [e.ref for e in result.evidence] == ["Procedure/p-5"]


@pytest.mark.parametrize("status", [f.status_r5(events=[f.event_r5(5), f.event_r5(6)]),
                                    f.status_r4(events=[f.event_r4(5), f.event_r4(6)])])
def test_empty_notification_asks_for_its_events(status):
    (note,) = read_fhir_json("n.json", f.notification(status)).notifications
    assert note.form == "empty"
    assert note.to_fetch == ("Subscription/sub-1/$events?eventsSinceNumber=5&eventsUntilNumber=6&content=full-resource",)


@pytest.mark.parametrize("kind", ["handshake", "heartbeat", "query-status"])
@pytest.mark.parametrize("build", [f.status_r5, f.status_r4])
def test_handshake_heartbeat_and_status_are_named_with_nothing_to_fetch(kind, build):
    result = read_fhir_json("n.json", f.notification(build(kind=kind)))
    assert [n.form for n in result.notifications] == [kind]
    assert result.to_fetch == [] and not result.problems


def test_error_status_is_named_with_its_code():
    (note,) = read_fhir_json("n.json", f.notification(f.status_r5(kind="query-status", state="error"))).notifications
    assert (note.form, note.status, note.error) == ("error", "error", "no-response")


def test_status_search_result_is_a_notification():
    search = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": f.status_r4(kind="query-status")}]}
    assert [n.form for n in read_fhir_json("s.json", search).notifications] == ["query-status"]


def test_cli_handshake_exits_zero_and_id_only_prints_types_and_count_without_urls(tmp_path, capsys):
    f.write(tmp_path, "hs.json", f.notification(f.status_r5(kind="handshake")))
    assert main(["suggest", str(tmp_path / "hs.json")]) == 0
    assert "handshake" in capsys.readouterr().err
    f.write(tmp_path, "id.json", f.notification(f.status_r4(events=[f.event_r4(9, f"{S}/Procedure/secret-77", (f"{S}/Patient/mrn-4242",))])))
    assert main(["suggest", str(tmp_path / "id.json")]) == 0
    err = capsys.readouterr().err
    assert "fetch 1 Patient, 1 Procedure" in err
    assert "secret-77" not in err and "mrn-4242" not in err and "ehr.test" not in err


def test_notification_summary_is_json_ready():
    (note,) = read_fhir_json("n.json", f.notification(f.status_r5(events=[f.event_r5(1, f"{S}/Encounter/e")]))).notifications
    assert json.loads(json.dumps(note.as_dict()))["to_fetch"] == ["Encounter/e"]


_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
_types = st.sampled_from(["Procedure", "ImagingStudy", "Encounter", "Patient", "DocumentReference"])


@settings(max_examples=60, deadline=None)
@given(focus=st.lists(st.tuples(_types, _ids), min_size=1, max_size=6, unique=True), r4=st.booleans(),
       seed=st.randoms(use_true_random=False))
def test_id_only_fetch_list_is_every_focus_once_whatever_the_order_and_never_printed(focus, r4, seed):
    refs = [f"{S}/{t}/{i}" for t, i in focus]
    build, event = (f.status_r4, f.event_r4) if r4 else (f.status_r5, f.event_r5)
    shuffled = refs[:]
    seed.shuffle(shuffled)
    one = read_fhir_json("n.json", f.notification(build(events=[event(n, r) for n, r in enumerate(refs, 1)])))
    two = read_fhir_json("n.json", f.notification(build(events=[event(n, r) for n, r in enumerate(shuffled, 1)])))
    assert sorted(one.to_fetch) == sorted(two.to_fetch) == sorted({f"{t}/{i}" for t, i in focus})
    summary = one.notifications[0].summary()
    assert "ehr.test" not in summary and not any(f"/{i}" in summary for _, i in focus)
