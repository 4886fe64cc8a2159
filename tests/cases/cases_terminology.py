"""Clinical cases about the vocabularies real EHRs put on a Procedure: SNOMED CT and LOINC concepts that name a
workflow step (mappings/2026/terminology.yaml), and coded procedures that are no workflow step at all.

Registered by make_files.py like every topic module (tests/cases/topics.py): its helpers (`claim`, `WORKFLOW`,
...) are reached through `H`.
"""
from __future__ import annotations

from typing import Any

from tests.cases.topics import Topic

SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
TOPIC = Topic()
H = TOPIC.helpers


@TOPIC.case
def case_snomed_orthopantogram_and_extraction(c: Any) -> None:
    """A panoramic radiograph recorded only as SNOMED CT 'Orthopantogram' (89846007), taken on the practice's
    unit, and a simple tooth extraction (SNOMED CT 173291009) at the same visit: the pano is coded like a
    recorded pano (D0330 dental, 70355 medical); the extraction is not a digital-workflow step, so it is
    neither billed, nor a notice, nor a skipped input."""
    c.patient("pt-okafor", "Okafor", "Ngozi", "1979-08-21", "female")
    c.encounter("enc-okafor-1", "2026-09-15", "10:00", 40, "harbor", "natarajan", status="established-patient",
                reason="Painful lower left molar")
    c.procedure("proc-okafor-pan", "10:05", code=(SCT, "89846007", "Orthopantogram"), by=("natarajan",),
                used=("hp-pan",))
    c.procedure("proc-okafor-ext", "10:30", code=(SCT, "173291009", "Simple extraction of tooth"),
                by=("natarajan",))
    c.expect("harbor", ["DWC-IMG-001", "DWC-IMG-002"],
             dental=H.claim([("D0330", [], 1)], forbidden=["70355"]),
             medical=H.claim([("70355", [], 1)], forbidden=["D0330"]))


@TOPIC.case
def case_loinc_ceph_for_orthodontics(c: Any) -> None:
    """A cephalometric radiograph recorded with the LOINC/RSNA playbook term 43787-1 (skull, facial bones and
    mandible views for dental measurement), captured and read by the practice: D0340 dental, 70350 medical."""
    c.patient("pt-lindgren", "Lindgren", "Elsa", "2009-02-11", "female")
    c.encounter("enc-lindgren-1", "2026-09-16", "14:00", 30, "harbor", "asante", status="new-patient",
                reason="Class III skeletal pattern, orthognathic work-up")
    c.procedure("proc-lindgren-ceph", "14:10", code=(LOINC, "43787-1", "XR Skull and Facial bones and Mandible Views for dental measurement"),
                by=("asante",), used=("hp-pan",))
    c.expect("harbor", ["DWC-IMG-003", "DWC-IMG-004"],
             dental=H.claim([("D0340", [], 1)], forbidden=["70350"]),
             medical=H.claim([("70350", [], 1)], forbidden=["D0340"]))


@TOPIC.case
def case_workflow_step_typo(c: Any) -> None:
    """A Procedure coded in the workflow-step code system with a code it does not have ('cbct-scan'): our own
    vocabulary, so this is a mistake in the record, not another kind of procedure. It is not coded, the
    unmapped-code notice names it and the record is reported as skipped (UnknownCode)."""
    c.patient("pt-moreau", "Moreau", "Lucien", "1968-04-30", "male")
    c.encounter("enc-moreau-1", "2026-09-17", "09:00", 20, "harbor", "asante", status="established-patient",
                reason="Implant planning follow-up")
    c.procedure("proc-moreau-x", "09:10", code=(H.WORKFLOW, "cbct-scan", "CBCT scan"), by=("asante",))
    c.expect("harbor", [],
             dental=H.claim([], notices=["unmapped-code"]),
             medical=H.claim([], notices=["unmapped-code"]),
             skipped=["UnknownCode"])
