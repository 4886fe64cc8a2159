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


def test_transaction_requests_without_a_resource_are_not_problems_and_never_echoed():
    tx = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": f.patient(), "request": {"method": "PUT", "url": "Patient/pt"}},
        {"request": {"method": "DELETE", "url": "Procedure/old-1"}},
        {"request": {"method": "GET", "url": "Patient?name=peterson&birthdate=1970"}},
        {"request": {"method": "GET", "url": "Patient/12334"}},
    ]}
    result = read_fhir_json("t.json", tx)
    assert [e.ref for e in result.evidence] == ["Patient/pt"] and not result.problems and result.ignored == 3


def test_response_entries_with_only_a_response_are_not_problems():
    resp = {"resourceType": "Bundle", "type": "transaction-response", "entry": [
        {"response": {"status": "201 Created", "location": "Patient/pt/_history/1"}},
        {"response": {"status": "200 OK"}, "resource": f.patient("pt-2")},
    ]}
    result = read_fhir_json("r.json", resp)
    assert [e.ref for e in result.evidence] == ["Patient/pt-2"] and not result.problems


def test_entry_with_nothing_at_all_is_invalid_without_echoing_its_url():
    result = read_fhir_json("c.json", {"resourceType": "Bundle", "type": "collection",
                                       "entry": [{"fullUrl": "https://ehr.test/fhir/Patient?name=peterson"}]})
    (problem,) = result.problems
    assert problem.reason == "InvalidFHIR" and "peterson" not in problem.message + problem.source


def test_resources_without_id_keep_their_urn_uuid_identity():
    one, two = f.procedure("x", "cbct"), f.procedure("y", "ct")
    del one["id"], two["id"]
    tx = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:aaaa-1", "resource": one, "request": {"method": "POST", "url": "Procedure"}},
        {"fullUrl": "urn:uuid:bbbb-2", "resource": two, "request": {"method": "POST", "url": "Procedure"}}]}
    items = latest_versions(read_fhir_json("t.json", tx).evidence)
    assert sorted(i.ref for i in items) == ["Procedure/aaaa-1", "Procedure/bbbb-2"]


def test_r4_only_types_are_accepted_and_ignored():
    product = {"resourceType": "MedicinalProduct", "id": "mp", "name": [{"productName": "Test"}]}
    synthesis = {"resourceType": "EffectEvidenceSynthesis", "id": "ees", "status": "draft"}
    result = read_fhir_json("b.json", f.bundle(product, synthesis, f.patient()))
    assert not result.problems and result.ignored == 2 and [e.type for e in result.evidence] == ["Patient"]


def test_r4_evidence_whose_structure_r4b_revised_is_accepted():
    r4 = {"resourceType": "Evidence", "id": "ev", "status": "draft",
          "exposureBackground": {"reference": "EvidenceVariable/a"}, "outcome": [{"reference": "EvidenceVariable/b"}]}
    result = read_fhir_json("e.json", r4)
    assert not result.problems and result.ignored == 1


def test_r4_only_type_with_a_bad_common_element_is_invalid():
    result = read_fhir_json("b.json", {"resourceType": "MedicinalProduct", "id": "mp", "meta": {"lastUpdated": "yesterday"}})
    assert result.problems[0].reason == "InvalidFHIR" and "meta.lastUpdated" in result.problems[0].message


def test_unknown_resource_type_is_still_reported():
    result = read_fhir_json("x.json", {"resourceType": "MedicinalWidget", "id": "w"})
    assert result.problems[0].reason == "UnsupportedResource"


def test_r4_media_with_one_attachment_is_coded_not_a_crash(tmp_path, capsys):
    from plugin.cli import main

    media = {"resourceType": "Media", "id": "m1", "status": "completed", "subject": {"reference": "Patient/pt"},
             "encounter": {"reference": "Encounter/enc"}, "createdDateTime": "2026-05-04T10:00:00Z",
             "content": {"contentType": "model/stl", "title": "upper arch intraoral scan"}}
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(), f.encounter(), media))
    assert main(["suggest", str(tmp_path), "--practice", f.PRACTICE, "--claim", "dental"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert any("Media/m1" in line["evidence"] for line in out["lines"])


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


def test_messages_name_elements_never_payload_text():
    odd = {"resourceType": "Patient", "id": "x", "Peterson Smith 1970": "x"}
    (problem,) = read_fhir_json("p.json", odd).problems
    assert problem.reason == "InvalidFHIR" and "Peterson" not in problem.message and "?" in problem.message


def test_valid_input_with_nothing_to_code_is_not_an_error(tmp_path, capsys):
    from plugin.cli import main

    f.write(tmp_path, "mp.json", {"resourceType": "MedicinalProduct", "id": "mp"})
    assert main(["suggest", str(tmp_path / "mp.json")]) == 0
    assert "nothing to code: 1 valid resource(s) read" in capsys.readouterr().err
    f.write(tmp_path, "bad.json", {"resourceType": "Toothbrush", "id": "t"})
    assert main(["suggest", str(tmp_path / "bad.json")]) == 1


def test_id_less_transaction_is_one_case_referenced_by_its_urn_uuids(tmp_path):
    from plugin.cli import code_paths

    pt, enc, proc = f.patient(), f.encounter(), f.procedure("p", "cbct")
    for res in (pt, enc, proc):
        del res["id"]
    enc["subject"] = proc["subject"] = {"reference": "urn:uuid:pt-1"}
    proc["encounter"] = {"reference": "urn:uuid:enc-1"}
    tx = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": f"urn:uuid:{key}", "resource": res, "request": {"method": "POST", "url": res["resourceType"]}}
        for key, res in (("pt-1", pt), ("enc-1", enc), ("p-1", proc))]}
    f.write(tmp_path, "practice.json", f.bundle(*f.practice()))
    f.write(tmp_path, "tx.json", tx)
    (out,) = code_paths([str(tmp_path)], f.PRACTICE, "dental", explain=True)
    assert (out.case, out.patient, out.encounter) == ("Encounter/enc-1", "Patient/pt-1", "Encounter/enc-1")
    assert ["Procedure/p-1"] in [s["evidence"] for s in out.explanation]


def test_a_single_resource_without_id_gets_a_stable_id():
    first = read_fhir_json("dir/a.json", {"resourceType": "Patient"}).evidence[0].ref
    assert first == read_fhir_json("dir/a.json", {"resourceType": "Patient"}).evidence[0].ref
    assert first != read_fhir_json("dir/b.json", {"resourceType": "Patient"}).evidence[0].ref
    assert first.startswith("Patient/entry-0-")
