"""Case assembly: encounters, patient + day, the practice and its people, the claim form."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from plugin import mappings
from plugin.case import assemble, latest_versions
from plugin.evidence.files import read_paths
from plugin.evidence.model import FhirResource
from plugin.evidence.versions import instant, newer
from tests.factories import fhir as f
from tests.factories.dicom import write_series
from tests.factories.mesh import write_binary_stl


def cases_of(paths, practice=f.PRACTICE, claim=None):
    return assemble(read_paths(paths), practice, claim, mappings.load())


def test_two_encounters_make_two_cases(tmp_path):
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(),
                                          f.encounter("e1", day="2026-05-04"), f.encounter("e2", day="2026-05-20"),
                                          f.procedure("a", "cbct", eid="e1"), f.procedure("b", "photographs", eid="e2", day="2026-05-20")))
    cases = cases_of([tmp_path])
    assert [c.key for c in cases] == ["Encounter/e1", "Encounter/e2"]
    assert [[r.ref for r in c.records] for c in cases] == [["Procedure/a"], ["Procedure/b"]]


def test_dicom_without_encounter_joins_by_patient_and_day(tmp_path):
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(mrn="MRN-7"),
                                          f.encounter("e1", day="2026-05-04"), f.encounter("e2", day="2026-06-01")))
    write_series(tmp_path / "ct", slices=3, PatientID="MRN-7", StudyDate="20260601", Modality="CT")
    cases = {c.key: c for c in cases_of([tmp_path])}
    assert len(cases["Encounter/e2"].series) == 1 and not cases["Encounter/e1"].series


def test_paths_without_encounters_are_one_case_and_meshes_join_it(tmp_path):
    write_series(tmp_path / "ct", slices=3, PatientID="MRN-9", StudyDate="20260601", Modality="CT")
    write_binary_stl(tmp_path / "scan.stl", "TRIOS 5 upper", 20)
    (case,) = cases_of([tmp_path])
    assert case.key == "PatientID/MRN-9|2026-06-01"
    assert case.patient_identifier == "MRN-9" and len(case.meshes) == 1


def test_practice_people_devices_and_third_parties(tmp_path):
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), *f.outside("center", "rad"), f.patient(), f.encounter(),
                                          f.device("unit", "SN-1", "CS 8100 3D"), f.device("mri", "MR-1", "SIGNA", owner="center")))
    (case,) = cases_of([tmp_path])
    practice = case.practice
    assert practice.owns("Practitioner/dr") is True and practice.owns("Practitioner/rad") is False
    assert practice.owns_device("sn-1", "") is True and practice.owns_device("MR-1", "") is False
    assert practice.owns_device("unknown", "") is None
    assert practice.owns_institution("Outside center") is False and practice.owns_institution("test oms") is True


def test_claim_from_coverage_else_default(tmp_path):
    coverage = {"resourceType": "Coverage", "id": "c", "status": "active", "beneficiary": {"reference": "Patient/pt"},
                "payor": [{"reference": "Organization/prac"}], "type": {"coding": [{"system": f.ACT, "code": "DENTAL"}]}}
    f.write(tmp_path / "a", "b.json", f.bundle(*f.practice(), f.patient(), f.encounter(), coverage))
    assert cases_of([tmp_path / "a"])[0].claim == "dental"
    coverage["type"]["coding"][0]["code"] = "EHCPOL"
    f.write(tmp_path / "b", "b.json", f.bundle(*f.practice(), f.patient(), f.encounter(), coverage))
    assert cases_of([tmp_path / "b"])[0].claim == "medical"
    assert cases_of([tmp_path / "b"], claim="dental")[0].claim == "dental"


def test_urn_uuid_references_resolve_through_full_urls(tmp_path):
    res = [*f.practice(), f.patient(mrn="MRN-U"), f.encounter("e1", day="2026-05-04"), f.encounter("e2", day="2026-05-20")]
    bundle = f.bundle(*res)
    for entry in bundle["entry"]:  # rewrite every reference to the target's urn:uuid fullUrl
        r = entry["resource"]
        if r["resourceType"] == "Encounter":
            r["subject"] = {"reference": "urn:uuid:Patient-pt"}
            r["serviceProvider"] = {"reference": "urn:uuid:Organization-prac"}
        if r["resourceType"] == "PractitionerRole":
            r["practitioner"], r["organization"] = {"reference": "urn:uuid:Practitioner-dr"}, {"reference": "urn:uuid:Organization-prac"}
    f.write(tmp_path, "b.json", bundle)
    write_series(tmp_path / "ct", slices=3, PatientID="MRN-U", StudyDate="20260520", Modality="CT")
    cases = {c.key: c for c in cases_of([tmp_path])}
    assert len(cases["Encounter/e2"].series) == 1 and not cases["Encounter/e1"].series
    assert cases["Encounter/e1"].practice.owns("Practitioner/dr") is True


def test_withdrawn_records_do_not_count(tmp_path):
    wrong = f.procedure("oops", "cbct")
    wrong["status"] = "entered-in-error"
    study = {"resourceType": "ImagingStudy", "id": "gone", "status": "cancelled", "subject": {"reference": "Patient/pt"},
             "encounter": {"reference": "Encounter/enc"}, "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "PX"}]}
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(), f.encounter(), wrong, study))
    (case,) = cases_of([tmp_path])
    assert case.records == []


# ------------------------------------------------------------------------------ never the wrong patient
def evidence_of(case) -> set[str]:
    return {r.ref for r in case.records} | {s.ref for s in case.series} | {m.ref for m in case.meshes}


def problems_of(cases) -> dict[str, str]:
    return {p.source: p.reason for c in cases for p in c.problems}


def test_two_dicom_patients_make_two_cases_and_neither_vanishes(tmp_path):
    write_series(tmp_path / "a", slices=2, PatientID="MRN-A", StudyDate="20260601", Modality="CT", SeriesInstanceUID="1.2.3.1")
    write_series(tmp_path / "b", slices=2, PatientID="MRN-B", StudyDate="20260601", Modality="CT", SeriesInstanceUID="1.2.3.2")
    cases = cases_of([tmp_path])
    assert [(c.key, c.patient_identifier, evidence_of(c)) for c in cases] == [
        ("PatientID/MRN-A|2026-06-01", "MRN-A", {"Series/1.2.3.1"}), ("PatientID/MRN-B|2026-06-01", "MRN-B", {"Series/1.2.3.2"})]


def test_one_encounter_does_not_take_another_patients_records(tmp_path):
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient("pt", "MRN-1"), f.patient("other", "MRN-2"), f.encounter(),
                                          f.procedure("mine", "cbct"), f.procedure("hers", "photographs", eid="", patient="other")))
    write_series(tmp_path / "ct", slices=2, PatientID="MRN-2", StudyDate="20260504", Modality="CT", SeriesInstanceUID="1.2.9")
    cases = {c.key: c for c in cases_of([tmp_path])}
    assert sorted(cases) == ["Encounter/enc", "Patient/other|2026-05-04"]
    assert evidence_of(cases["Encounter/enc"]) == {"Procedure/mine"}
    assert evidence_of(cases["Patient/other|2026-05-04"]) == {"Procedure/hers", "Series/1.2.9"}
    assert cases["Patient/other|2026-05-04"].patient == "Patient/other"


def test_a_record_whose_encounter_is_another_patients_is_reported_not_billed(tmp_path):
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(), f.patient("other", "MRN-2"), f.encounter(),
                                          f.procedure("mine", "cbct"), f.procedure("hers", "photographs", patient="other")))
    (case,) = cases_of([tmp_path])
    assert evidence_of(case) == {"Procedure/mine"}
    assert problems_of([case]) == {f"{tmp_path / 'b.json'}#Procedure/hers": "PatientMismatch"}


def test_dicom_patient_id_links_through_the_issuers_namespace(tmp_path):
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient("pt", "7", system="urn:oid:1.2.3"),
                                          f.patient("other", "7", system="urn:oid:9.9.9"), f.encounter()))
    write_series(tmp_path / "ct", slices=2, PatientID="7", IssuerOfPatientID="1.2.3", StudyDate="20260504", Modality="CT")
    (case,) = cases_of([tmp_path])
    assert case.key == "Encounter/enc" and len(case.series) == 1


def test_dicom_patient_id_that_two_patients_carry_is_unlinked(tmp_path):
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient("pt", "7", system="urn:oid:1.2.3"),
                                          f.patient("other", "7", system="urn:oid:9.9.9"), f.encounter()))
    write_series(tmp_path / "ct", slices=2, PatientID="7", StudyDate="20260504", Modality="CT")
    (case,) = cases_of([tmp_path])
    assert case.series == []
    assert list(problems_of([case]).values()) == ["UnlinkedEvidence"]


def test_dicom_only_patient_carries_its_issuer(tmp_path):
    write_series(tmp_path / "a", slices=2, PatientID="MRN-A", IssuerOfPatientID="2.16.840.1.113883.3.1", StudyDate="20260601", Modality="CT")
    write_series(tmp_path / "b", slices=2, PatientID="MRN-A", IssuerOfPatientID="LAKESIDE", StudyDate="20260601", Modality="CT")
    cases = cases_of([tmp_path])
    assert [(c.patient_identifier, c.patient_assigner) for c in cases] == [
        ("urn:oid:2.16.840.1.113883.3.1|MRN-A", ""), ("MRN-A", "LAKESIDE")]


def test_a_mesh_joins_the_case_of_its_folder_else_it_is_unlinked(tmp_path):
    for who, mrn in (("a", "MRN-A"), ("b", "MRN-B")):
        write_series(tmp_path / who / "ct", slices=2, PatientID=mrn, StudyDate="20260601", Modality="CT")
    (tmp_path / "a" / "scans").mkdir()
    write_binary_stl(tmp_path / "a" / "scans" / "upper.stl", "TRIOS 5 upper", 20)
    write_binary_stl(tmp_path / "loose.stl", "TRIOS 5 lower", 20)
    cases = {c.key: c for c in cases_of([tmp_path])}
    assert [m.ref for m in cases["PatientID/MRN-A|2026-06-01"].meshes] == ["File/upper.stl"]
    assert cases["PatientID/MRN-B|2026-06-01"].meshes == []
    assert problems_of(cases.values()) == {str(tmp_path / "loose.stl"): "UnlinkedEvidence"}


def test_a_mesh_given_with_one_case_joins_it_wherever_it_lies(tmp_path):
    write_series(tmp_path / "ct", slices=2, PatientID="MRN-A", StudyDate="20260601", Modality="CT")
    write_binary_stl(tmp_path.parent / f"{tmp_path.name}-elsewhere.stl", "TRIOS 5 upper", 20)
    (case,) = cases_of([tmp_path, tmp_path.parent / f"{tmp_path.name}-elsewhere.stl"])
    assert len(case.meshes) == 1


def test_an_encounter_with_another_patient_on_one_day_gives_two_cases(tmp_path):
    f.write(tmp_path, "enc.json", f.bundle(*f.practice(), f.patient(), f.encounter()))
    study = {"resourceType": "ImagingStudy", "id": "img", "status": "available", "subject": {"reference": "Patient/someone"},
             "started": "2026-05-04T10:00:00Z", "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "PX"}]}
    f.write(tmp_path, "study.json", study)
    cases = {c.key: c for c in cases_of([tmp_path])}
    assert sorted(cases) == ["Encounter/enc", "Patient/someone|2026-05-04"]
    assert cases["Patient/someone|2026-05-04"].patient == "Patient/someone"  # a reference stays a reference


# ------------------------------------------------------------------------------ references as real EHRs write them
def test_urn_uuid_encounter_of_a_document_and_devices_resolve(tmp_path):
    """Synthea style: every reference a urn:uuid, the document dated the day after the visit."""
    dev = f.device("unit", "SN-1", "TRIOS 5")
    proc = f.procedure("scan", "intraoral-scan", device="urn:uuid:Device-unit", actor="urn:uuid:Practitioner-dr")
    proc["encounter"] = {"reference": "urn:uuid:Encounter-enc"}
    doc = {"resourceType": "DocumentReference", "id": "doc", "status": "current", "subject": {"reference": "urn:uuid:Patient-pt"},
           "date": "2026-05-05T08:00:00Z", "content": [{"attachment": {"contentType": "model/stl", "title": "scan"}}],
           "context": {"encounter": [{"reference": "urn:uuid:Encounter-enc"}]}}
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(), f.encounter(), dev, proc, doc))
    (case,) = cases_of([tmp_path])
    assert case.key == "Encounter/enc" and {r.ref for r in case.records} == {"Procedure/scan", "DocumentReference/doc"}
    from plugin import resources as fr
    scan = next(r for r in case.records if r.ref == "Procedure/scan")
    assert fr.device_refs(scan.resource) == ["Device/unit"] and fr.actor_refs(scan.resource) == ["Practitioner/dr"]
    assert case.practice.owns("Device/unit") is True


def test_absolute_history_and_conditional_references_resolve(tmp_path):
    enc = f.encounter()
    enc["subject"] = {"reference": "https://ehr.example/fhir/Patient/pt/_history/3"}
    enc["serviceProvider"] = {"reference": f"Organization?identifier={f.NPI}|{f.PRACTICE_NPI}"}
    proc = f.procedure("p", "cbct")
    proc["encounter"] = {"reference": "https://ehr.example/fhir/Encounter/enc"}
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(), enc, proc))
    (case,) = cases_of([tmp_path])
    assert case.patient == "Patient/pt" and [r.ref for r in case.records] == ["Procedure/p"]
    assert case.encounter["serviceProvider"] == {"reference": "Organization/prac"}


def test_resources_without_an_id_are_kept_apart_by_full_url(tmp_path):
    first, second = f.procedure("x", "cbct"), f.procedure("y", "photographs")
    del first["id"], second["id"]
    bundle = f.bundle(*f.practice(), f.patient(), f.encounter(), first, second, kind="transaction")
    bundle["entry"][-2]["fullUrl"], bundle["entry"][-1]["fullUrl"] = "urn:uuid:one", "urn:uuid:two"
    for entry in bundle["entry"]:
        entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    f.write(tmp_path, "b.json", bundle)
    (case,) = cases_of([tmp_path])
    assert len(case.records) == 2


def test_two_patients_sharing_a_series_uid_stay_apart(tmp_path):
    """Badly anonymised exports reuse UIDs: files of two patients with one SeriesInstanceUID are two series."""
    for who in ("A", "B"):
        write_series(tmp_path / who, slices=3, PatientID=f"MRN-{who}", StudyDate="20260601", Modality="CT",
                     StudyInstanceUID="1.2.7", SeriesInstanceUID="1.2.7.1")
    cases = cases_of([tmp_path])
    assert [(c.patient_identifier, [len(s.files) for s in c.series]) for c in cases] == [("MRN-A", [3]), ("MRN-B", [3])]


# ------------------------------------------------------------------------------------------ versions
def _copy(status: str, version: str = "", updated: str = "", name: str = "a.json") -> FhirResource:
    meta = {k: v for k, v in (("versionId", version), ("lastUpdated", updated)) if v}
    return FhirResource(name, "R4B", {**f.procedure("p1", "cbct", status=status), **({"meta": meta} if meta else {})})


def _latest_from_files(folder, copies) -> dict:
    for n, copy in enumerate(copies):
        f.write(folder, f"{n}.json", copy.resource)
    (item,) = [e for e in latest_versions(read_paths([folder]).evidence) if e.ref == "Procedure/p1"]
    return item.resource


def test_the_later_last_updated_wins_then_the_higher_version_number(tmp_path):
    uuids = [_copy("entered-in-error", "6f1c2d9e-0000-4000-8000-000000000001", "2026-10-14T12:30:00+02:00"),
             _copy("completed", "0a1b2c3d-0000-4000-8000-000000000002", "2026-10-14T10:00:00Z")]  # 10:30Z, later than 10:00Z
    assert _latest_from_files(tmp_path / "u", uuids)["status"] == "entered-in-error"
    numbers = [_copy("completed", "2"), _copy("entered-in-error", "10")]  # numbers, not strings: 10 > 2
    assert _latest_from_files(tmp_path / "n", numbers)["status"] == "entered-in-error"
    stamped = [_copy("completed", "10", "2026-10-14T09:00:00Z"), _copy("entered-in-error", "2", "2026-10-14T11:00:00Z")]
    assert _latest_from_files(tmp_path / "s", stamped)["status"] == "entered-in-error"  # lastUpdated before number


def test_the_store_keeps_the_version_the_files_choose():
    copies = [_copy("completed", "b7", "2026-10-14T10:00:00Z"), _copy("entered-in-error", "a1"),
              _copy("in-progress", "c9", "2026-10-14T10:00:00.000+00:00")]
    kept = copies[0]
    for item in copies[1:]:
        kept = item if newer(kept, item) else kept
    assert kept.resource == latest_versions(copies)[0].resource


_INSTANTS = st.sampled_from(["", "2026-10-14T10:00:00Z", "2026-10-14T12:00:00+02:00", "2026-10-14T10:00:00.5Z",
                             "2026-10-15T08:00:00-05:00", "not a time"])
_UUID_COPIES = st.lists(st.tuples(st.uuids().map(str), _INSTANTS, st.sampled_from(["completed", "entered-in-error",
                                                                                     "in-progress"])),
                        min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(copies=_UUID_COPIES, data=st.data())
def test_with_uuid_versions_any_order_gives_the_same_latest_and_the_store_agrees(copies, data):
    items = [_copy(status, version, updated, name=f"{n}.json") for n, (version, updated, status) in enumerate(copies)]
    order = data.draw(st.permutations(items), label="order")
    (chosen,) = latest_versions(items)
    assert latest_versions(order) == [chosen]
    stamps = [instant(i.resource["meta"].get("lastUpdated")) for i in items]
    if any(stamps):
        assert instant(chosen.resource["meta"].get("lastUpdated")) == max(s for s in stamps if s)
    kept = order[0]
    for item in order[1:]:
        kept = item if newer(kept, item) else kept
    assert kept.resource == chosen.resource
