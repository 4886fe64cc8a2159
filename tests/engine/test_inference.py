"""Inference details that case folders do not show well: R5 input, name matching, sparse records."""
from __future__ import annotations

from plugin.cli import code_paths
from tests.factories import fhir as f
from tests.factories.dicom import write_series

DCM = "http://dicom.nema.org/resources/ontology/DCM"


def codes(folder, claim="dental") -> set[str]:
    (out,) = code_paths([str(folder)], f.PRACTICE, claim)
    return {"-".join([l.code, *l.modifiers]) for l in out.lines}


def test_r5_resources_code_like_r4(tmp_path):
    enc = {"resourceType": "Encounter", "id": "enc", "status": "completed", "subject": {"reference": "Patient/pt"},
           "class": [{"coding": [{"system": f.ACT, "code": "AMB"}]}], "serviceProvider": {"reference": "Organization/prac"},
           "type": [{"coding": [{"system": f.WF, "code": "new-patient"}]}], "length": {"value": 50, "unit": "min"},
           "actualPeriod": {"start": "2026-05-04T09:00:00Z", "end": "2026-05-04T10:00:00Z"}}
    study = {"resourceType": "ImagingStudy", "id": "img", "status": "available", "subject": {"reference": "Patient/pt"},
             "encounter": {"reference": "Encounter/enc"},
             "series": [{"uid": "1.2.3.4", "modality": {"coding": [{"system": DCM, "code": "CT"}]}, "description": "CBCT",
                         "bodySite": {"concept": {"coding": [{"system": "http://snomed.info/sct", "code": "91609006", "display": "Mandible"}]}},
                         "performer": [{"actor": {"reference": "Practitioner/dr"}}]}]}
    scan = {"resourceType": "Procedure", "id": "scan", "status": "completed", "subject": {"reference": "Patient/pt"},
            "encounter": {"reference": "Encounter/enc"}, "code": {"coding": [{"system": f.WF, "code": "3d-print-model"}]},
            "occurrenceDateTime": "2026-05-04T10:00:00Z", "performer": [{"actor": {"reference": "Practitioner/dr"}}],
            "used": [{"reference": {"reference": "Device/printer"}}]}
    printer = {"resourceType": "Device", "id": "printer", "serialNumber": "P-1", "owner": {"reference": "Organization/prac"}}
    f.write(tmp_path, "r5.json", f.bundle(*f.practice(), f.patient(), enc, study, scan, printer))
    (out,) = code_paths([str(tmp_path)], f.PRACTICE, "medical")
    assert not out.skipped
    # The print has no surface scan behind it, only the CBCT: a medical model (99070, the practice made it), not
    # D0396 (reference 003 section V: D0396 is the print of a 3D surface scan). The evaluation's scope is not
    # recorded: D0140, the least extensive code (CDT evaluations go by scope, not by new patient).
    assert {"99204", "70486", "99070"} <= {l.code for l in out.lines} and "D0396" not in {l.code for l in out.lines}
    dental = codes(tmp_path, "dental")
    assert dental >= {"D0140", "D0365"} and "D0396" not in dental


def test_institution_name_matches_the_practice_whatever_the_punctuation(tmp_path):
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(mrn="M-5"), f.encounter(),
                                          {"resourceType": "Organization", "id": "c", "name": "Valley Imaging"}))
    write_series(tmp_path / "a", slices=8, slice_spacing=10.0, pixel_spacing=10.0, rows=16, cols=16, Modality="CT",
                 ManufacturerModelName="i-CAT FLX", InstitutionName="TEST O.M.S.", PatientID="M-5", StudyDate="20260504")
    assert "D0367" in codes(tmp_path)


def test_unknown_institution_falls_back_to_the_practice_encounter_but_a_known_outside_one_does_not(tmp_path):
    outside = {"resourceType": "Organization", "id": "c", "name": "Valley Imaging"}
    f.write(tmp_path / "x", "b.json", f.bundle(*f.practice(), f.patient(mrn="M-6"), f.encounter(), outside))
    write_series(tmp_path / "x" / "a", slices=8, slice_spacing=10.0, pixel_spacing=10.0, rows=16, cols=16, Modality="CT",
                 ManufacturerModelName="i-CAT FLX", InstitutionName="Somewhere Radiology", PatientID="M-6", StudyDate="20260504")
    assert "D0367" in codes(tmp_path / "x")
    f.write(tmp_path / "y", "b.json", f.bundle(*f.practice(), f.patient(mrn="M-6"), f.encounter(), outside))
    write_series(tmp_path / "y" / "a", slices=8, slice_spacing=10.0, pixel_spacing=10.0, rows=16, cols=16, Modality="CT",
                 ManufacturerModelName="i-CAT FLX", InstitutionName="Valley Imaging", PatientID="M-6", StudyDate="20260504")
    assert not {"D0367", "D0383", "D0391"} & codes(tmp_path / "y")


def test_imaging_study_with_only_a_study_modality_still_counts(tmp_path):
    study = {"resourceType": "ImagingStudy", "id": "pan", "status": "available", "subject": {"reference": "Patient/pt"},
             "encounter": {"reference": "Encounter/enc"}, "modality": [{"system": DCM, "code": "PX"}]}
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(), f.encounter(), study))
    assert "D0330" in codes(tmp_path)
    assert "70355" in codes(tmp_path, "medical")


def test_encounter_type_may_carry_a_recorded_em_code(tmp_path):
    enc = f.encounter(minutes=35)
    enc["type"] = [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99204"}]}]
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(), enc))
    assert "99203" in codes(tmp_path, "medical")  # new patient by 99204, level by the 35 minutes recorded
    assert "D0140" in codes(tmp_path, "dental")  # CDT goes by the scope the record shows: none shown, D0140


def test_practice_interpretation_procedure_counts_beside_an_outside_interpreter(tmp_path):
    study = {"resourceType": "ImagingStudy", "id": "ct", "status": "available", "subject": {"reference": "Patient/pt"},
             "encounter": {"reference": "Encounter/enc"}, "interpreter": [{"reference": "Practitioner/ext"}],
             "series": [{"uid": "1.2.9", "modality": {"system": DCM, "code": "CT"}, "description": "CBCT both jaws",
                         "performer": [{"actor": {"reference": "Organization/lab"}}]}]}
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), *f.outside("lab", "ext"), f.patient(), f.encounter(), study))
    assert codes(tmp_path) == {"D0140"}  # the visit only: the CBCT was neither captured nor read by the practice
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), *f.outside("lab", "ext"), f.patient(), f.encounter(), study,
                                          f.procedure("read", "image-interpretation")))
    assert codes(tmp_path) == {"D0391", "D0140"}
    assert "70486-26" in codes(tmp_path, "medical")


def test_recorded_capture_only_code_informs_the_image_but_measured_fov_wins(tmp_path):
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(mrn="M-8"), f.encounter(),
                                          f.procedure("cb", "D0383", system="http://www.ada.org/cdt")))
    write_series(tmp_path / "a", slices=4, slice_spacing=10.0, pixel_spacing=5.0, rows=16, cols=16, Modality="CT",
                 ManufacturerModelName="CS 8100 3D", BodyPartExamined="MAXILLA", PatientID="M-8", StudyDate="20260504")
    assert codes(tmp_path) == {"D0382", "D0140"}  # capture only as recorded; maxilla as measured (80 x 40 mm)
    assert "70486-TC" in codes(tmp_path, "medical")


def test_a_scan_file_joins_the_recorded_scan_of_its_own_family(tmp_path):
    from tests.factories.mesh import write_binary_stl

    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(), f.encounter(),
                                          f.procedure("face", "facial-scan"), f.procedure("imp", "model-scan")))
    write_binary_stl(tmp_path / "impression.stl", "TRIOS 5", 30, extent_mm=(62, 50, 20))  # intraoral scanner, impression recorded
    write_binary_stl(tmp_path / "face.stl", "", 30, extent_mm=(190, 150, 120))
    (out,) = code_paths([str(tmp_path)], f.PRACTICE, "dental")
    by_code = {l.code: l.evidence for l in out.lines}
    assert set(by_code) == {"D0140", "D0802", "D0803"}
    assert "File/impression.stl" in by_code["D0802"] and "File/face.stl" in by_code["D0803"]


def test_prolonged_time_needs_documented_length_not_the_encounter_period(tmp_path):
    enc = f.encounter(kind="consultation", cls="IMP")
    enc["period"] = {"start": "2026-05-04T09:00:00Z", "end": "2026-05-04T11:00:00Z"}
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(), enc))
    (out,) = code_paths([str(tmp_path)], f.PRACTICE, "medical")
    assert {(l.code, l.quantity) for l in out.lines} == {("99255", 1)}
    assert "documentation-required" in {n.kind for n in out.notices}
    enc["length"] = {"value": 120, "unit": "min"}
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(), enc))
    (out,) = code_paths([str(tmp_path)], f.PRACTICE, "medical")
    assert {(l.code, l.quantity) for l in out.lines} == {("99255", 1), ("99418", 2)}
