"""One rich case on disk (FHIR + DICOM + STL) for property tests and CLI tests."""
from __future__ import annotations

from pathlib import Path

from tests.factories import fhir as f
from tests.factories.dicom import write_series
from tests.factories.mesh import write_binary_stl


def write_rich_case(folder: Path) -> Path:
    study = "1.2.826.0.1.3680043.8.498.100"
    imaging = {"resourceType": "ImagingStudy", "id": "img", "status": "available", "subject": {"reference": "Patient/pt"},
               "encounter": {"reference": "Encounter/enc"}, "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study}"}],
               "series": [{"uid": f"{study}.1", "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}}],
               "interpreter": [{"reference": "Practitioner/dr"}]}
    f.write(folder, "bundle.json", f.bundle(
        *f.practice(), *f.outside("lab", "tech"), f.patient(mrn="MRN-R"), f.encounter(kind="new-patient", minutes=70),
        f.device("unit", "CBCT-77", "CS 9600"), f.device("ws", "WS-77", "PLAN-WS"), f.device("printer", "PR-77", "Form 4"),
        imaging,
        f.procedure("sim", "virtual-treatment-simulation", device="Device/ws", note="plan moved two implants"),
        f.procedure("fuse", "image-fusion", note="scan registered to CBCT"),
        f.procedure("print", "3d-print-model", device="Device/printer"),
        f.procedure("splint1", "surgical-splint"), f.procedure("splint2", "surgical-splint"),
        f.procedure("splint3", "surgical-splint"),
        f.procedure("labprint", "3d-print-model", actor="Organization/lab"),
        f.procedure("pano", "panoramic-image"),
    ))
    common = dict(PatientID="MRN-R", StudyDate="20260504", StudyInstanceUID=study)
    write_series(folder / "cbct", slices=4, rows=8, cols=8, pixel_spacing=10.0, slice_spacing=10.0, Modality="CT",
                 SeriesInstanceUID=f"{study}.1", Manufacturer="Carestream", ManufacturerModelName="CS 9600",
                 DeviceSerialNumber="CBCT-77", BodyPartExamined="MAXILLA", ReconstructionDiameter=80.0, **common)
    write_series(folder / "render", slices=1, rows=8, cols=8, Modality="CT", SeriesInstanceUID=f"{study}.9",
                 ImageType=["DERIVED", "SECONDARY", "VOLUME RENDERING"], DeviceSerialNumber="WS-77", StationName="PLAN-WS", **common)
    write_binary_stl(folder / "upper.stl", "Medit i700 intraoral scan - maxilla", 40, extent_mm=(62, 50, 22))
    return folder
