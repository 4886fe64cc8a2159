"""Cases of the coder's audit (issue 12, items 2-9, 11 and 12): each shows a line a certified coder would not bill,
or one missed, and what the rules must answer instead.

Registered by make_files.py like every topic module (tests/cases/topics.py): its helpers (`claim`, `volume`,
`flat`, `uid`, `ORGS`, ...) are reached through `H`.
The expected codes come from mappings/2026/rules.yaml, the contract and the coding references, never from the
engine's output.
"""
from __future__ import annotations

from typing import Any

from tests.cases.topics import Topic

TOPIC = Topic()
H = TOPIC.helpers


# ==================================================================================== item 2: whose rendering
@TOPIC.case
def case_audit_hospital_rendering(c: Any) -> None:
    """Inpatient consultation (50 min); the hospital's CT has a volume-rendering series made by the hospital on its
    own scanner; the surgeon reads the CT. The facility bills the capture (70486-26) and the rendering is the
    hospital's post-processing, not the practice's: no 76376/76377 for the practice (third-party-service notice
    saying why)."""
    c.patient("pt-ferrante", "Ferrante", "Luca", "1972-02-14", "male")
    c.encounter("enc-ferrante-ip", "2026-04-21", "10:00", 50, "stbrendan", "vasquez", cls="IMP", status="consultation",
                reason="Comminuted zygomaticomaxillary complex fracture; consult requested by trauma surgery")
    c.device("stbrendan-ct")
    study_uid, ct_uid, render_uid = H.uid(c.name, "study"), H.uid(c.name, "ct"), H.uid(c.name, "render")
    H.volume(c, "ct.dcm.json", "stbrendan-ct", study_uid, ct_uid, diameter=240, height=150, slices=6,
           description="CT face without contrast")
    H.flat(c, "render.dcm.json", "stbrendan-ct", study_uid, render_uid, modality="OT", images=3, derived=True,
         description="Volume rendering")
    c.study("img-ferrante-ct", "09:10", study_uid, [
        {"uid": ct_uid, "modality": "CT", "description": "CT face without contrast"},
        {"uid": render_uid, "modality": "OT", "description": "Volume rendering", "n": 3}], interpreter=("vasquez",))
    c.expect("summit", ["DWC-IMG-020", "DWC-IMG-030", "DWC-PLAN-002"],
             medical=H.claim([("99253", [], 1), ("70486", ["26"], 1)], optional=[], forbidden=["76376", "76377"],
                           notices=["facility-bills-capture", "third-party-service"]))


# ==================================================================================== item 3: D0396 needs a surface scan
@TOPIC.case
def case_audit_print_from_cbct_segmentation(c: Any) -> None:
    """A CBCT taken and read in the office; the mandible is segmented from the volume and printed on the practice's
    printer. No surface scan: the print is a medical model, not D0396 (not-a-surface-scan). Medical claim: no
    post-processing code billed and the practice made it (its own materials): 99070."""
    c.patient("pt-lindahl", "Lindahl", "Oskar", "1968-07-02", "male")
    c.encounter("enc-lindahl-1", "2026-08-11", "09:00", 30, "harbor", "asante", status="established-patient",
                reason="Planning of a mandibular resection")
    c.device("hp-cbct")
    study_uid, cbct_uid = H.uid(c.name, "study"), H.uid(c.name, "cbct")
    H.volume(c, "cbct.dcm.json", "hp-cbct", study_uid, cbct_uid, diameter=160, height=100, description="CBCT large field")
    c.study("img-lindahl-cbct", "09:10", study_uid, [{"uid": cbct_uid, "modality": "CT", "description": "CBCT large field"}],
            interpreter=("asante",))
    c.procedure("proc-lindahl-print", "10:00", step="3d-print-model", by=("asante",), used=("hp-printer",),
                note="Mandible segmented from the CBCT volume and printed for plate pre-bending.")
    c.expect("harbor", ["DWC-IMG-010", "DWC-IMG-020", "DWC-PRINT-004", "DWC-PRINT-006"],
             dental=H.claim([("D0367", [], 1)], forbidden=["D0396"], notices=["not-a-surface-scan"]),
             medical=H.claim([("70486", [], 1), ("99070", [], 1)], forbidden=["D0396", "76376", "76377"],
                           notices=["not-a-surface-scan"]))


@TOPIC.case
def case_audit_print_without_scan(c: Any) -> None:
    """A model printed on the practice's printer with no surface scan (nor any image) in the case and no word of
    what it was printed from: no D0396; documentation-required names the surface scan it needs (it may predate the
    visit)."""
    c.patient("pt-aalto", "Aalto", "Kaisa", "2001-01-17", "female")
    c.encounter("enc-aalto-2", "2026-08-12", "14:00", 20, "lakeview", "reyes", status="established-patient",
                reason="Models before orthognathic surgery")
    c.procedure("proc-aalto-print", "14:30", step="3d-print-model", by=("reyes",), used=("lv-printer",))
    c.expect("lakeview", ["DWC-PRINT-007"],
             dental=H.claim([], forbidden=["D0396"], notices=["documentation-required"]),
             medical=H.claim([], forbidden=["D0396", "99070"], notices=["documentation-required"]))


# ==================================================================================== item 4: who paid for the hardware
@TOPIC.case
def case_audit_vendor_plate_no_invoice(c: Any) -> None:
    """Office case: a vendor-made patient-specific plate, nothing in the record showing the practice paid for it and
    no post-processing code billed: no 99070 (documentation-required: the invoice), third-party-fabrication."""
    c.patient("pt-brennan", "Brennan", "Aoife", "1979-11-30", "female")
    c.encounter("enc-brennan-1", "2026-10-21", "08:00", 30, "summit", "vasquez", status="established-patient",
                reason="Orbital floor reconstruction planning")
    c.procedure("proc-brennan-plate", "08:30", step="custom-plate", by=("moreau",),
                note="Patient-specific orbital floor plate, vendor-made.")
    c.expect("summit", ["DWC-DEV-005", "DWC-DEV-006"],
             medical=H.claim([], forbidden=["99070", "21299"],
                           notices=["documentation-required", "third-party-fabrication"]))


# ==================================================================================== item 5: photographs per image
@TOPIC.case
def case_audit_photo_video_clip(c: Any) -> None:
    """Four still facial photographs and one 120-frame video clip of the smile (one multi-frame instance): D0350 is
    per 2D image - 5, not 124."""
    c.patient("pt-quispe", "Quispe", "Rosa", "1995-05-05", "female")
    c.encounter("enc-quispe-1", "2026-01-27", "09:00", 30, "lakeview", "lindqvist", status="established-patient",
                reason="Smile analysis before orthognathic surgery")
    study = H.uid(c.name, "study")
    stills, clip = H.uid(c.name, "stills"), H.uid(c.name, "clip")
    H.flat(c, "stills.dcm.json", None, study, stills, modality="XC", images=4, description="Facial photographs",
         institution=H.ORGS["lakeview"][1], Manufacturer="Canon", ManufacturerModelName="EOS R10")
    H.flat(c, "clip.dcm.json", None, study, clip, modality="XC", images=1, description="Smile video",
         institution=H.ORGS["lakeview"][1], Manufacturer="Canon", ManufacturerModelName="EOS R10", NumberOfFrames=120)
    c.study("img-quispe-photos", "09:10", study, [
        {"uid": stills, "modality": "XC", "n": 4, "description": "Facial photographs", "performer": "okonkwo"},
        {"uid": clip, "modality": "XC", "n": 1, "description": "Smile video", "performer": "okonkwo"}])
    c.expect("lakeview", ["DWC-DIAG-001"],
             dental=H.claim([("D0350", [], 5)]),
             medical=H.claim([("D0350", [], 5)]))


# ==================================================================================== item 6: evaluation by scope
@TOPIC.case
def case_audit_recorded_limited_evaluation(c: Any) -> None:
    """The practice system recorded CDT D0140 (limited, problem-focused evaluation) and the Encounter has no
    new/established type: D0140 on a dental claim (the scope the record shows); D0140 says nothing of new vs
    established, so no E/M family on a medical claim (documentation-required)."""
    c.patient("pt-mwangi", "Mwangi", "Achieng", "1988-08-19", "female")
    c.encounter("enc-mwangi-1", "2026-03-10", "10:00", 25, "harbor", "natarajan",
                reason="Pain and swelling lower right third molar")
    c.procedure("proc-mwangi-eval", "10:05", code=(H.CDT, "D0140", "Limited oral evaluation - problem focused"),
                by=("natarajan",), note="Pericoronitis 48; irrigation; removal advised.")
    c.expect("harbor", ["DWC-EVAL-002", "DWC-EVAL-021"],
             dental=H.claim([("D0140", [], 1)], optional=[], forbidden=["D0150", "D0160"]),
             medical=H.claim([], optional=[], forbidden=["99212", "99213", "99214", "99202", "99203"],
                           notices=["documentation-required"]))


@TOPIC.case
def case_audit_new_patient_scope_not_recorded(c: Any) -> None:
    """A new patient (Encounter.type) seen 30 minutes for a swelling, no word of the evaluation's scope: the least
    extensive evaluation the evidence supports (D0140) with D0150/D0160 as alternatives and documentation-required
    saying what would support them - not D0150 because the patient is new. Medical claim: 99203 by time."""
    c.patient("pt-haddou", "Haddou", "Yasmine", "1993-04-09", "female")
    c.encounter("enc-haddou-1", "2026-03-11", "11:00", 30, "harbor", "asante", status="new-patient",
                reason="Swelling of the left cheek for two days")
    c.expect("harbor", ["DWC-EVAL-003", "DWC-EVAL-010"],
             dental=H.claim([("D0140", [], 1)], optional=[], forbidden=["D0150", "D0160"],
                          notices=["documentation-required"]),
             medical=H.claim([("99203", [], 1)], optional=[], forbidden=["99202", "99204"]))


# ==================================================================================== item 7: simulation on nothing 3D
@TOPIC.case
def case_audit_simulation_without_images(c: Any) -> None:
    """A virtual treatment simulation recorded with its note but no 3D image volume or surface scan in the case (the
    data may predate the visit): no D0393 line, documentation-required names what is missing."""
    c.patient("pt-okoro", "Okoro", "Ifeanyi", "1970-10-10", "male")
    c.encounter("enc-okoro-3", "2026-06-24", "09:00", 20, "lakeview", "reyes", status="established-patient",
                reason="Implant planning review 46")
    c.procedure("proc-okoro-sim", "09:10", step="virtual-treatment-simulation", by=("reyes",),
                note="Implant 46 simulated; length reduced to 8 mm to keep 2 mm from the canal.")
    c.expect("lakeview", ["DWC-PLAN-013"],
             dental=H.claim([], forbidden=["D0393"], notices=["documentation-required"]),
             medical=H.claim([], forbidden=["D0393", "76376", "76377"], notices=["documentation-required"]))


# ==================================================================================== item 8: ED consultation
@TOPIC.case
def case_audit_ed_consultation(c: Any) -> None:
    """Consultation requested by the emergency physician, 45 minutes in the emergency department (Encounter.class
    EMER): CPT 2023 reports it with the office/outpatient consultation codes - 99244 (40-54 min)."""
    c.patient("pt-sandoval", "Sandoval", "Diego", "1984-12-01", "male")
    c.encounter("enc-sandoval-ed", "2026-04-14", "23:00", 45, "stbrendan", "vasquez", cls="EMER", status="consultation",
                reason="ED physician requests OMS consult: mandible fracture after a fall")
    c.expect("summit", ["DWC-EVAL-016"],
             medical=H.claim([("99244", [], 1)], optional=[], forbidden=["99283", "99254", "99243"]))


# ==================================================================================== item 9: same-day E/M and 21085
@TOPIC.case
def case_audit_splint_same_day_visit(c: Any) -> None:
    """An established-patient visit (25 min) and a surgical splint the surgeon made the same day: 21085 carries a
    10-day global period, so the E/M is offered with modifier 25 as the alternative and a same-day-em notice."""
    c.patient("pt-lacroix", "Lacroix", "Noemie", "1991-09-09", "female")
    c.encounter("enc-lacroix-2", "2026-09-29", "08:00", 25, "harbor", "asante", status="established-patient",
                reason="Occlusal check and final splint delivery before orthognathic surgery")
    c.procedure("proc-lacroix-splint", "08:30", step="surgical-splint", by=("asante",), used=("hp-printer",),
                note="Final splint designed and printed in the office.")
    c.expect("harbor", ["DWC-EVAL-011", "DWC-SPLINT-001", "DWC-EDIT-MOD25-1"],
             medical=H.claim([("99213", [], 1), ("21085", [], 1)], optional=[],
                           notices=["global-period", "same-day-em"]))


# ==================================================================================== item 11: documentation present/missing
@TOPIC.case
def case_audit_rendering_without_plan_note(c: Any) -> None:
    """A CBCT rendered on the practice's planning workstation with no note of the surgical plan: 76377 is still
    suggested, and its documentation check reports the plan note missing (reference 003 section IV)."""
    c.patient("pt-yilmaz", "Yilmaz", "Emre", "1982-03-03", "male")
    c.encounter("enc-yilmaz-1", "2026-10-07", "09:00", 30, "lakeview", "lindqvist", status="established-patient",
                reason="Planning of a mandibular advancement")
    c.device("lv-cbct")
    study_uid, cbct_uid = H.uid(c.name, "study"), H.uid(c.name, "cbct")
    H.volume(c, "cbct.dcm.json", "lv-cbct", study_uid, cbct_uid, diameter=160, height=100, description="CBCT large field")
    study = c.study("img-yilmaz-cbct", "09:10", study_uid, [{"uid": cbct_uid, "modality": "CT",
                    "description": "CBCT large field"}], interpreter=("lindqvist",))
    c.report("rep-yilmaz-cbct", "11:00", study, "lindqvist", "Class II skeletal pattern; no pathology in the volume.",
             "CBCT interpretation")
    c.procedure("proc-yilmaz-render", "09:30", step="3d-rendering", by=("lindqvist",), used=("lv-ws",))
    c.expect("lakeview", ["DWC-IMG-020", "DWC-PLAN-001"],
             medical=H.claim([("70486", [], 1), ("76377", [], 1)], forbidden=["76376"]))


# ==================================================================================== item 12: G2212 from 89 minutes
@TOPIC.case
def case_audit_prolonged_below_medicare(c: Any) -> None:
    """New patient, 80 minutes (Encounter.length): 99205 + 99417 x1 (CPT counts from 75 min); Medicare's G2212 is
    counted from 89 minutes, so it is not offered as the alternative here."""
    c.patient("pt-novotna", "Novotna", "Petra", "1966-06-06", "female")
    c.encounter("enc-novotna-1", "2026-02-24", "08:00", 80, "lakeview", "reyes", status="new-patient",
                reason="Osteoradionecrosis of the mandible: evaluation and treatment planning")
    c.expect("lakeview", ["DWC-EVAL-010", "DWC-EVAL-030"],
             medical=H.claim([("99205", [], 1), ("99417", [], 1)], optional=[], forbidden=["G2212"]))


# ==================================================================================== items 3 and 11: print from volume, plan note
@TOPIC.case
def case_audit_print_from_volume_with_rendering(c: Any) -> None:
    """A CBCT rendered on the practice's planning workstation, with the formal note of the surgical plan, and the
    maxilla segmented from the volume and printed in house: 76377 (its plan note present); the printed model is a
    medical model, integral to 76377 - no D0396, no 99070."""
    c.patient("pt-marchetti", "Marchetti", "Giorgio", "1990-01-31", "male")
    c.encounter("enc-marchetti-1", "2026-10-08", "09:00", 30, "lakeview", "reyes", status="established-patient",
                reason="Le Fort I planning")
    c.device("lv-cbct")
    study_uid, cbct_uid = H.uid(c.name, "study"), H.uid(c.name, "cbct")
    H.volume(c, "cbct.dcm.json", "lv-cbct", study_uid, cbct_uid, diameter=160, height=100, description="CBCT large field")
    c.study("img-marchetti-cbct", "09:10", study_uid, [{"uid": cbct_uid, "modality": "CT",
            "description": "CBCT large field"}], interpreter=("reyes",))
    c.procedure("proc-marchetti-render", "09:30", step="3d-rendering", by=("reyes",), used=("lv-ws",),
                note="Surgical plan: Le Fort I advancement 5 mm with 2 mm impaction; intermediate splint and "
                     "pre-bent plates planned.")
    c.procedure("proc-marchetti-print", "10:30", step="3d-print-model", by=("reyes",), used=("lv-printer",),
                note="Maxilla segmented from the CBCT volume and printed for plate pre-bending.")
    c.expect("lakeview", ["DWC-IMG-020", "DWC-PLAN-001", "DWC-PRINT-004", "DWC-PRINT-005"],
             medical=H.claim([("70486", [], 1), ("76377", [], 1)], forbidden=["D0396", "99070", "76376"],
                           notices=["integral-to-postprocessing", "not-a-surface-scan"]))
