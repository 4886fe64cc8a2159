"""Clinical cases about reading the DICOM header and meshes (issue 6 items 2, 3, 9, 10; issue 12 items 1, 10).

Registered by make_files.py like every topic module (tests/cases/topics.py): its helpers (`claim`, `volume`,
`flat`, `uid`, `DEVICES`, `ORGS`, ...) are reached through `H`.
Every person, device and identifier is made up; expectations are written from the contract and the rules.
"""
from __future__ import annotations

from typing import Any

from tests.cases.topics import Topic

RENDER = ["76376", "76377"]
# A unit the mappings know nothing about (no maker or model of either list): its header must speak for it.
UNKNOWN_UNIT = ("lv-xr3d", "XR-3D Pro", "LVOFS-XR3D", "XR3D-00917", "Nordlicht Imaging", "3D X-ray unit", "lakeview")
TOPIC = Topic(setup=lambda helpers: helpers.DEVICES.setdefault(UNKNOWN_UNIT[0], UNKNOWN_UNIT))
H = TOPIC.helpers


def _visit(c: Any, pid: str, family: str, given: str, day: str, practice: str, surgeon: str, reason: str) -> None:
    c.patient(pid, family, given, "1980-01-01", "female")
    c.encounter(f"enc-{pid}", day, "09:00", 30, practice, surgeon, status="established-patient", reason=reason)


def _cbct_study(c: Any, device: str, surgeon: str, series: list[dict]) -> None:
    c.device(device)
    c.study(f"img-{c.name}", "09:20", H.uid(c.name, "study"), series, interpreter=(surgeon,))


# ------------------------------------------------------------------------------------ TMJ (issue 12 item 1)
@TOPIC.case
def case_cbct_tmj_single_exposure(c: Any) -> None:
    """One CBCT exposure marked BodyPartExamined TMJ, 50 mm across: a TMJ series needs two or more exposures, so
    its measured size decides: less than one jaw, D0364 (never D0368)."""
    _visit(c, "pt-quill", "Quill", "Maren", "2026-03-16", "harbor", "asante", "Right TMJ clicking")
    study, series = H.uid(c.name, "study"), H.uid(c.name, "cbct")
    H.volume(c, "cbct.dcm.json", "hp-cbct", study, series, diameter=50, height=50, body="TMJ",
             description="Right TMJ closed mouth")
    _cbct_study(c, "hp-cbct", "asante", [{"uid": series, "modality": "CT", "description": "Right TMJ closed mouth"}])
    c.expect("harbor", ["DWC-IMG-010", "DWC-IMG-020"],
             dental=H.claim([("D0364", [], 1)], forbidden=["D0368", "D0384", "D0367"]),
             medical=H.claim([("70486", [], 1)]))


@TOPIC.case
def case_cbct_both_jaws_says_tmj(c: Any) -> None:
    """A 160 x 100 mm both-jaws CBCT whose description mentions the TMJ: a both-jaws volume that includes the joints
    is both jaws, D0367 (not the TMJ series D0368)."""
    _visit(c, "pt-rask", "Rask", "Jonas", "2026-03-17", "harbor", "asante", "Mandibular asymmetry with TMJ pain")
    study, series = H.uid(c.name, "study"), H.uid(c.name, "cbct")
    desc = "Both jaws incl. TMJ bilateral"
    H.volume(c, "cbct.dcm.json", "hp-cbct", study, series, diameter=160, height=100, description=desc)
    _cbct_study(c, "hp-cbct", "asante", [{"uid": series, "modality": "CT", "description": desc}])
    c.expect("harbor", ["DWC-IMG-010", "DWC-IMG-020"],
             dental=H.claim([("D0367", [], 1)], forbidden=["D0368", "D0384"]),
             medical=H.claim([("70486", [], 1)]))


# ------------------------------------------------------------------------------------ measurements (issue 6 item 2, 12 item 10)
@TOPIC.case
def case_cbct_zero_spacing_capture_only(c: Any) -> None:
    """One CBCT slice exported with PixelSpacing 0\\0 and read by an outside radiologist: 0 mm is no measurement,
    so the field of view is unknown (never the smallest code); capture only, so the notice offers D0380-D0384."""
    _visit(c, "pt-soto", "Soto", "Ines", "2026-03-18", "lakeview", "lindqvist", "Pre-implant assessment")
    c.device("lv-cbct")
    study, series = H.uid(c.name, "study"), H.uid(c.name, "cbct")
    c.dicom("cbct.dcm.json", study_uid=study, series_uid=series, modality="CT", slices=1, size=8, spacing=0.0,
            step=0.3, SeriesDescription="CBCT export", **H._device_tags("lv-cbct", None))
    ref = c.study(f"img-{c.name}", "09:20", study, [{"uid": series, "modality": "CT", "description": "CBCT export"}])
    c.report(f"rep-{c.name}", "15:00", ref, "cole", "Full-volume interpretation; see report.", "CBCT radiology report")
    c.expect("lakeview", ["DWC-IMG-013", "DWC-IMG-020"],
             dental=H.claim([], forbidden=["D0364", "D0380", "D0381", "D0382", "D0383", "D0384", "D0367"],
                            notices=["field-of-view-unknown"]),
             medical=H.claim([("70486", ["TC"], 1)]))


# ------------------------------------------------------------------------------------ CBCT or CT by the header (issue 6 item 2)
@TOPIC.case
def case_cbct_told_by_header(c: Any) -> None:
    """A CT series from a unit no list names, whose header shows a cone-beam acquisition (isotropic 0.3 mm voxels,
    an 8.9 s exposure at 5 mA, no gantry attributes): CBCT, both jaws by height, D0367 dental, 70486 medical."""
    _visit(c, "pt-tamm", "Tamm", "Liis", "2026-03-19", "lakeview", "reyes", "Orthognathic records")
    c.device(UNKNOWN_UNIT[0])
    study, series = H.uid(c.name, "study"), H.uid(c.name, "cbct")
    c.dicom("cbct.dcm.json", study_uid=study, series_uid=series, modality="CT", slices=4, size=8, spacing=0.3,
            step=25.0, SliceThickness=0.3, ReconstructionDiameter=160, KVP=120, ExposureTime=8900, XRayTubeCurrent=5,
            SeriesDescription="Volume", **H._device_tags(UNKNOWN_UNIT[0], None))
    c.study(f"img-{c.name}", "09:20", study, [{"uid": series, "modality": "CT", "description": "Volume"}],
            interpreter=("reyes",))
    c.expect("lakeview", ["DWC-IMG-010", "DWC-IMG-020"],
             dental=H.claim([("D0367", [], 1)], forbidden=["D0364", "D0365", "D0366", "D0368"],
                            notices=[]),
             medical=H.claim([("70486", [], 1)]))


@TOPIC.case
def case_ct_told_by_header(c: Any) -> None:
    """A CT series from a unit no list names, whose header shows a gantry CT (CTDIvol, spiral pitch, convolution
    kernel, 250 mA): medical-grade CT, so no CDT code on a dental claim (other-claim-only), 70486 medical."""
    _visit(c, "pt-ueda", "Ueda", "Sora", "2026-03-20", "lakeview", "reyes", "Facial fracture work-up")
    c.device(UNKNOWN_UNIT[0])
    study, series = H.uid(c.name, "study"), H.uid(c.name, "ct")
    H.volume(c, "ct.dcm.json", UNKNOWN_UNIT[0], study, series, diameter=200, height=120, description="Face",
             CTDIvol=32.5, SpiralPitchFactor=0.8, ConvolutionKernel="H70h", XRayTubeCurrent=250, KVP=120)
    c.study(f"img-{c.name}", "09:20", study, [{"uid": series, "modality": "CT", "description": "Face"}],
            interpreter=("reyes",))
    c.expect("lakeview", ["DWC-IMG-020", "DWC-IMG-021"],
             dental=H.claim([], forbidden=["D0367", "D0383"], notices=["other-claim-only"]),
             medical=H.claim([("70486", [], 1)]))


@TOPIC.case
def case_ct_unit_uncertain(c: Any) -> None:
    """A CT series from a unit no list names and a header that says nothing about how it was acquired: read as
    medical-grade CT (no CDT code) with a cbct-uncertain notice naming what to check; 70486 medical either way."""
    _visit(c, "pt-voss", "Voss", "Anja", "2026-03-23", "lakeview", "reyes", "Maxillary sinus opacity")
    c.device(UNKNOWN_UNIT[0])
    study, series = H.uid(c.name, "study"), H.uid(c.name, "ct")
    H.volume(c, "ct.dcm.json", UNKNOWN_UNIT[0], study, series, diameter=120, height=80, description="Sinus")
    c.study(f"img-{c.name}", "09:20", study, [{"uid": series, "modality": "CT", "description": "Sinus"}],
            interpreter=("reyes",))
    c.expect("lakeview", ["DWC-IMG-015", "DWC-IMG-020", "DWC-IMG-021"],
             dental=H.claim([], forbidden=["D0366", "D0367"], notices=["other-claim-only", "cbct-uncertain"]),
             medical=H.claim([("70486", [], 1)]))


# ------------------------------------------------------------------------------------ 2D reformats (issue 6 items 2, 3)
@TOPIC.case
def case_cbct_reformats_not_renderings(c: Any) -> None:
    """A CBCT re-exported lossy (DERIVED\\PRIMARY\\AXIAL, described "3D export"), with coronal MPR and a panoramic
    view reconstructed from it (DERIVED\\SECONDARY) on the same unit: the acquisition's code only, D0367 / 70486;
    no 76376/76377, no D0330 and no imaging-overlap."""
    _visit(c, "pt-wirth", "Wirth", "Paula", "2026-03-24", "harbor", "natarajan", "Implant planning, both jaws")
    study = H.uid(c.name, "study")
    vol, mpr, pano = H.uid(c.name, "cbct"), H.uid(c.name, "mpr"), H.uid(c.name, "pano")
    H.volume(c, "cbct.dcm.json", "hp-cbct", study, vol, diameter=160, height=100, description="3D export",
             ImageType=["DERIVED", "PRIMARY", "AXIAL"])
    H.flat(c, "mpr.dcm.json", "hp-cbct", study, mpr, modality="CT", images=3, description="MPR Coronal 3mm",
           ImageType=["DERIVED", "SECONDARY", "MPR"])
    H.flat(c, "pano.dcm.json", "hp-cbct", study, pano, modality="PX", derived=True,
           description="Panoramic reconstruction")
    _cbct_study(c, "hp-cbct", "natarajan", [
        {"uid": vol, "modality": "CT", "description": "3D export"},
        {"uid": mpr, "modality": "CT", "description": "MPR Coronal 3mm", "n": 3},
        {"uid": pano, "modality": "PX", "description": "Panoramic reconstruction"}])
    c.expect("harbor", ["DWC-IMG-010", "DWC-IMG-020"],
             dental=H.claim([("D0367", [], 1)], forbidden=[*RENDER, "D0330", "D0701"]),
             medical=H.claim([("70486", [], 1)], forbidden=[*RENDER, "70355"]))


@TOPIC.case
def case_mr_derived_secondary_not_rendering(c: Any) -> None:
    """An MR of the TMJ with a derived secondary series (DERIVED\\SECONDARY\\OTHER, a subtraction) and no sign of 3D
    work: no 3D rendering (76376/76377), and no CBCT code from an MR."""
    _visit(c, "pt-xu", "Xu", "Mei", "2026-03-25", "summit", "vasquez", "TMJ disc displacement")
    study, mr, sub = H.uid(c.name, "study"), H.uid(c.name, "mr"), H.uid(c.name, "sub")
    H.volume(c, "mr.dcm.json", "su-ct", study, mr, diameter=160, height=40, body="TMJ", modality="MR",
             description="TMJ PD sagittal", SOPClassUID="1.2.840.10008.5.1.4.1.1.4")
    H.flat(c, "sub.dcm.json", "su-ct", study, sub, modality="MR", images=2, description="SUB 2-1",
           ImageType=["DERIVED", "SECONDARY", "OTHER"], SOPClassUID="1.2.840.10008.5.1.4.1.1.4")
    c.device("su-ct")
    c.study(f"img-{c.name}", "09:20", study, [{"uid": mr, "modality": "MR", "description": "TMJ PD sagittal"},
                                              {"uid": sub, "modality": "MR", "description": "SUB 2-1", "n": 2}],
            interpreter=("vasquez",))
    c.expect("summit", [],
             dental=H.claim([], forbidden=[*RENDER, "D0368", "D0384", "D0367"]),
             medical=H.claim([], forbidden=[*RENDER, "70486"]))


# ------------------------------------------------------------------------------------ region and who (issue 6 item 9)
@TOPIC.case
def case_ct_chest_outside_head_neck(c: Any) -> None:
    """A chest CT (BodyPartExamined CHEST) with its scout in the practice's case: outside the head and neck, so no
    maxillofacial code (70486, D0364-D0368) and an outside-head-neck notice saying why; the scout is no volume."""
    _visit(c, "pt-yilmaz", "Yilmaz", "Deniz", "2026-03-26", "summit", "vasquez", "Pre-operative work-up")
    c.device("su-ct")
    study, ct, scout = H.uid(c.name, "study"), H.uid(c.name, "ct"), H.uid(c.name, "scout")
    H.volume(c, "ct.dcm.json", "su-ct", study, ct, diameter=350, height=300, body="CHEST", description="Thorax")
    H.flat(c, "scout.dcm.json", "su-ct", study, scout, modality="CT", description="Topogram", body="CHEST",
           ImageType=["ORIGINAL", "PRIMARY", "LOCALIZER"])
    c.study(f"img-{c.name}", "09:20", study, [{"uid": ct, "modality": "CT", "description": "Thorax"},
                                              {"uid": scout, "modality": "CT", "description": "Topogram"}],
            interpreter=("vasquez",))
    c.expect("summit", ["DWC-IMG-014"],
             dental=H.claim([], forbidden=["D0367", "D0391"], notices=["outside-head-neck"]),
             medical=H.claim([], forbidden=["70486", "70487", "70488"], notices=["outside-head-neck"]))


@TOPIC.case
def case_cbct_nobody_named(c: Any) -> None:
    """A CBCT series (a known cone-beam maker, no station, serial, institution, performer or report) of a patient
    with no encounter: nothing says who acquired or read it, so the line says so and carries a
    documentation-required notice."""
    c.patient("pt-zeller", "Zeller", "Tom", "1975-07-07", "male")
    c.day = "2026-03-27"
    study, series = H.uid(c.name, "study"), H.uid(c.name, "cbct")
    c.dicom("cbct.dcm.json", study_uid=study, series_uid=series, modality="CT", slices=5, size=8, spacing=20.0,
            step=20.0, SeriesDescription="Both jaws", Manufacturer="Carestream Dental", ManufacturerModelName="CS 9600")
    c.expect("lakeview", ["DWC-IMG-010", "DWC-IMG-016", "DWC-IMG-020"],
             dental=H.claim([("D0367", [], 1)], optional=[], notices=["documentation-required"]),
             medical=H.claim([("70486", [], 1)], optional=[], notices=["documentation-required"]))


# ------------------------------------------------------------------------------------ meshes that are no scans (issue 6 item 10)
@TOPIC.case
def case_mesh_segmentation_export(c: Any) -> None:
    """A mandible segmented from a CBCT and exported as STL by segmentation software (VTK writer header), 98 mm
    across: not a scan of the patient, so no D0801-D0804, and a not-a-scan notice says why."""
    _visit(c, "pt-amari", "Amari", "Nia", "2026-03-30", "lakeview", "reyes", "Mandibular reconstruction planning")
    c.stl("Segment_1.stl", "Visualization Toolkit generated SLA File", (98.0, 82.0, 62.0), seed=901)
    c.expect("lakeview", [],
             dental=H.claim([], forbidden=["D0801", "D0802", "D0803", "D0804"], notices=["not-a-scan"]),
             medical=H.claim([], forbidden=["D0801", "D0802", "D0803", "D0804"], notices=["not-a-scan"]))


@TOPIC.case
def case_mesh_sizes_no_anatomy_has(c: Any) -> None:
    """A 1 mm test cube and a 4.5 m block given with a real intraoral scan: only the arch is a scan (D0801); the
    other two are no scans of the patient (not-a-scan)."""
    _visit(c, "pt-bello", "Bello", "Ada", "2026-03-31", "lakeview", "lindqvist", "Study models")
    c.device("lv-trios")
    c.stl("arch.stl", "3Shape TRIOS 5 - lower arch", (62.0, 55.0, 25.0), seed=911)
    c.stl("unit_cube.stl", "solid unit_cube", (1.0, 1.0, 1.0), seed=912)
    c.stl("large_block.stl", "", (4572.0, 304.8, 2438.4), seed=913)
    c.expect("lakeview", ["DWC-SCAN-001"],
             dental=H.claim([("D0801", [], 1)], forbidden=["D0802", "D0803", "D0804"], notices=["not-a-scan"]),
             medical=H.claim([("D0801", [], 1)], forbidden=["D0802", "D0803", "D0804"], notices=["not-a-scan"]))


@TOPIC.case
def case_pano_nobody_named(c: Any) -> None:
    """A panoramic radiograph (PX, a maker but no station, serial, institution, performer or report) of a patient
    with no encounter: D0330 / 70355, and a documentation-required notice that nothing names who took or read it."""
    c.patient("pt-cruz", "Cruz", "Ana", "1990-09-09", "female")
    c.day = "2026-04-01"
    c.dicom("pano.dcm.json", study_uid=H.uid(c.name, "study"), series_uid=H.uid(c.name, "pano"), modality="PX",
            SeriesDescription="Panoramic", Manufacturer="Planmeca", ManufacturerModelName="ProMax 2D")
    c.expect("lakeview", ["DWC-IMG-001", "DWC-IMG-002", "DWC-IMG-017"],
             dental=H.claim([("D0330", [], 1)], optional=[], notices=["documentation-required"]),
             medical=H.claim([("70355", [], 1)], optional=[], notices=["documentation-required"]))
