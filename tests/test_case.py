"""Case assembly: encounters, patient + day, the practice and its people, the claim form."""
from __future__ import annotations

from plugin import mappings
from plugin.case import assemble
from plugin.evidence.files import read_paths
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
