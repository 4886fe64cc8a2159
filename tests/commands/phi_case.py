"""A PHI-bearing copy of the example case: a named patient with identifiers, address, phone and birth date in
the FHIR Patient and in every DICOM header (PatientName, PatientID, PatientBirthDate, OtherPatientIDs)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "orthognathic-planning"
FAMILY, GIVEN, MRN, SSN = "Quillfeather", "Ottoline", "MRN-77K3Q9", "999-41-7302"
PHONE, STREET, BIRTH = "555-0199-4242", "41 Wrenfield Lane", "1987-03-14"
PHI = (FAMILY, GIVEN, MRN, SSN, PHONE, STREET, BIRTH, BIRTH.replace("-", ""))


def make(tmp: Path) -> Path:
    out = tmp / "phi-case"
    shutil.copytree(EXAMPLE, out)
    bundle = json.loads((out / "bundle.json").read_text())
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "Patient":
            res.update({"identifier": [{"system": "urn:mrn", "value": MRN}, {"system": "http://hl7.org/fhir/sid/us-ssn", "value": SSN}],
                        "name": [{"family": FAMILY, "given": [GIVEN]}], "telecom": [{"system": "phone", "value": PHONE}],
                        "address": [{"line": [STREET]}], "birthDate": BIRTH})
    (out / "bundle.json").write_text(json.dumps(bundle))
    for path in out.rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        ds.PatientName, ds.PatientID, ds.PatientBirthDate = f"{FAMILY}^{GIVEN}", MRN, BIRTH.replace("-", "")
        ds.save_as(path)
    return out


def bad_bodies() -> list[tuple[str, bytes]]:
    """Refused or unusable bodies that carry PHI: their errors must not repeat it."""
    return [("application/fhir+json", f'{{"resourceType": "Patient", "name": [{{"family": "{FAMILY}"'.encode()),
            ("application/fhir+json", json.dumps({"resourceType": "Patient", "id": "x", "name": FAMILY, "birthDate": SSN}).encode()),
            ("application/dicom+json", json.dumps({"00100010": {"vr": "PN", "Value": [{"Alphabetic": f"{FAMILY}^{GIVEN}"}]},
                                                   "00100020": {"vr": "LO", "Value": [MRN]}}).encode())]
