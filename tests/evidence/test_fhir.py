"""FHIR reader: versions, Bundle kinds, notifications, and invalid resources named by path and field."""
from __future__ import annotations

import json

from plugin.case import latest_versions
from plugin.evidence.fhir import read_fhir_json
from plugin.evidence.files import read_paths
from tests.factories import fhir as f


def test_r4_bundle_resources_validate_as_r4b():
    result = read_fhir_json("b.json", f.bundle(*f.practice(), f.patient(), f.encounter()))
    assert not result.problems
    assert {e.version for e in result.evidence} == {"R4B"}
    assert {e.type for e in result.evidence} == {"Organization", "Practitioner", "PractitionerRole", "Patient", "Encounter"}


def test_r5_encounter_validates_as_r5():
    enc = {"resourceType": "Encounter", "id": "e5", "status": "completed", "subject": {"reference": "Patient/pt"},
           "class": [{"coding": [{"system": f.ACT, "code": "AMB"}]}], "actualPeriod": {"start": "2026-05-04T09:00:00Z"}}
    result = read_fhir_json("e.json", enc)
    assert [e.version for e in result.evidence] == ["R5"]


def test_invalid_resource_is_named_with_path_and_field_and_others_still_read():
    bad = f.procedure("p1", "cbct")
    bad["performedDateTime"] = "2026-13-45"
    result = read_fhir_json("b.json", f.bundle(f.patient(), bad))
    assert [e.type for e in result.evidence] == ["Patient"]
    (problem,) = result.problems
    assert problem.source == "b.json#Procedure/p1"
    assert problem.reason == "InvalidFHIR"
    assert "performedDateTime" in problem.message


def test_unknown_resource_type_is_reported():
    result = read_fhir_json("x.json", {"resourceType": "Toothbrush", "id": "t"})
    assert result.problems[0].reason == "UnsupportedResource"
    assert "Toothbrush" in result.problems[0].message


def test_subscription_notification_skips_status_and_reports_id_only_entries():
    status = {"resourceType": "SubscriptionStatus", "status": "active", "type": "event-notification",
              "subscription": {"reference": "Subscription/s"}}
    note = {"resourceType": "Bundle", "type": "subscription-notification", "entry": [
        {"fullUrl": "urn:uuid:s", "resource": status},
        {"fullUrl": "https://ehr.example/fhir/Procedure/p9"},
        {"fullUrl": "urn:uuid:p", "resource": f.patient()},
    ]}
    result = read_fhir_json("n.json", note)
    assert [e.type for e in result.evidence] == ["Patient"]
    assert "id-only notification" in result.problems[0].message


def test_history_bundle_keeps_the_latest_version_whatever_the_order():
    old, new = f.procedure("p1", "cbct"), f.procedure("p1", "ct")
    old["meta"], new["meta"] = {"versionId": "2"}, {"versionId": "10"}
    history = {"resourceType": "Bundle", "type": "history", "entry": [{"resource": new}, {"resource": old}]}
    items = latest_versions(read_fhir_json("h.json", history).evidence)
    assert [i.resource["code"]["coding"][0]["code"] for i in items] == ["ct"]


def test_malformed_json_file_is_a_problem_not_a_crash(tmp_path):
    (tmp_path / "broken.json").write_text('{"resourceType": "Patient", "id": ')
    (tmp_path / "ok.json").write_text(json.dumps(f.patient()))
    result = read_paths([tmp_path])
    assert [e.type for e in result.evidence] == ["Patient"]
    assert result.problems[0].reason == "MalformedJSON"
    assert result.problems[0].source.endswith("broken.json")


def test_ndjson_lines_are_read_one_by_one(tmp_path):
    (tmp_path / "export.ndjson").write_text(json.dumps(f.patient()) + "\nnot json\n" + json.dumps(f.encounter()) + "\n")
    result = read_paths([tmp_path / "export.ndjson"])
    assert sorted(e.type for e in result.evidence) == ["Encounter", "Patient"]
    assert result.problems[0].source.endswith("export.ndjson:2")


def test_unrecognised_and_missing_files_are_reported(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    result = read_paths([tmp_path / "notes.txt", tmp_path / "absent.json"])
    assert sorted(p.reason for p in result.problems) == ["MissingFile", "UnsupportedFile"]
