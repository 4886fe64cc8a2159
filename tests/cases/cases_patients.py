"""Clinical cases about whose evidence it is (contract section 1), the code set in force and the practice.

Registered by make_files.py like every topic module (tests/cases/topics.py): its helpers (`claim`, `uid`,
`flat`, `volume`, the people and devices) are reached through `H`. Every person and identifier here is made up.
"""
from __future__ import annotations

from typing import Any

from tests.cases.topics import Topic

TOPIC = Topic()
H = TOPIC.helpers


@TOPIC.case
def case_other_patients_records_in_the_encounter(c: Any) -> None:
    """A panoramic taken in the office (CDT D0330 recorded: D0330 dental, 70355 medical). The same export holds
    another patient's records filed under this visit: a CBCT Procedure of hers that names this patient's
    Encounter, and her CBCT series carrying this patient's StudyInstanceUID but her own PatientID. Neither is
    billed to this patient: both are reported (PatientMismatch), and no CBCT code appears."""
    c.patient("pt-saarinen", "Saarinen", "Aino", "1979-08-14", "female")
    c.encounter("enc-saarinen-1", "2026-04-14", "10:00", 20, "lakeview", "reyes", status="established-patient",
                reason="Follow-up of a third molar removal")
    c.procedure("proc-saarinen-pan", "10:05", code=(H.CDT, "D0330", "Panoramic radiographic image"), by=("reyes",),
                used=("lv-pan",))
    study_uid = H.uid(c.name, "study")
    H.flat(c, "pan.dcm.json", "lv-pan", study_uid, H.uid(c.name, "pan"), modality="PX", description="Panoramic")
    c.study("img-saarinen-pan", "10:05", study_uid, [{"uid": H.uid(c.name, "pan"), "modality": "PX", "description": "Panoramic"}])
    other = "pt-adeyemi"
    c.add({"resourceType": "Patient", "id": other,
           "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.9901.7", "value": "MRN-PT-ADEYEMI"}],
           "name": [{"family": "Adeyemi", "given": ["Ngozi"]}], "gender": "female", "birthDate": "1990-02-02"})
    c.add({"resourceType": "Procedure", "id": "proc-adeyemi-cbct", "status": "completed",
           "code": {"coding": [{"system": H.CDT, "code": "D0367", "display": "CBCT both jaws"}]},
           "subject": H.ref("Patient", other), "encounter": H.ref("Encounter", "enc-saarinen-1"),
           "performedDateTime": H.when(c.day, "10:30"), "performer": [{"actor": {"reference": c.person("reyes")}}]})
    H.volume(c, "misfiled-cbct.dcm.json", "lv-cbct", study_uid, H.uid(c.name, "cbct"), diameter=160, height=100,
           description="CBCT both jaws", PatientID="MRN-PT-ADEYEMI", PatientName="Adeyemi^Ngozi")
    c.expect("lakeview", ["DWC-IMG-001", "DWC-IMG-002"],
             dental=H.claim([("D0330", [], 1)], forbidden=["D0367", "D0383", "D0364", "D0365", "D0366", "D0368"]),
             medical=H.claim([("70355", [], 1)], forbidden=["70486", "70487", "70488", "D0367"]),
             skipped=["PatientMismatch"])


@TOPIC.case
def case_code_set_not_in_force(c: Any) -> None:
    """A panoramic recorded (CDT D0330) on a visit in 2015, before any code set of the mappings: no rule is in
    force on that date, so nothing is coded, and the no-code-set notice says why instead of silence."""
    c.patient("pt-quintero", "Quintero", "Ruben", "1966-10-03", "male")
    c.encounter("enc-quintero-1", "2015-03-10", "09:00", 20, "lakeview", "reyes", status="established-patient",
                reason="Routine follow-up")
    c.procedure("proc-quintero-pan", "09:05", code=(H.CDT, "D0330", "Panoramic radiographic image"), by=("reyes",),
                used=("lv-pan",))
    c.expect("lakeview", [],
             dental=H.claim([], optional=[], forbidden=["D0330"], notices=["no-code-set"]),
             medical=H.claim([], optional=[], forbidden=["70355"], notices=["no-code-set"]))


@TOPIC.case
def case_practice_identifier_matches_nothing(c: Any) -> None:
    """The practice is configured with a mistyped NPI (one digit off): no Organization in the evidence carries
    it, so nobody and no device is the practice's. The practice-not-found notice says so (the CLI adds one
    stderr line) instead of letting the lines change without a word."""
    c.patient("pt-ferraro", "Ferraro", "Giulia", "1988-06-21", "female")
    c.encounter("enc-ferraro-1", "2026-05-19", "14:00", 20, "lakeview", "reyes", status="established-patient",
                reason="Pain in the lower left jaw")
    c.procedure("proc-ferraro-pan", "14:05", code=(H.CDT, "D0330", "Panoramic radiographic image"), by=("reyes",),
                used=("lv-pan",))
    c.expect("lakeview", [],
             dental=H.claim([], optional=H.EVAL + ["D0330", "D0701", "D0391"], notices=["practice-not-found"]),
             medical=H.claim([], optional=H.EVAL + ["70355", "99281", "99282", "99283", "99284", "99285"],
                           notices=["practice-not-found"]))
    c.expected["practice"] = f"{H.NPI}|1528473064"
