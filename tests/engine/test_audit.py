"""What the coder's audit (issue 12) asks of lines and notices beyond codes and notice kinds, on the real case
folders (tests/cases/, written by make_files.py + cases_audit.py) through the real engine: the documentation each
line needs found or missing in the record (item 11), the alternatives offered (G2212 from 89 minutes, -25 beside
21085, 21299 as the unlisted code: items 9 and 12), and notices that say what is true of this case and code
(item 12). Expectations come from the rules and the references, not from the engine's output."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from plugin.output.chargeitems import to_bundle
from plugin.output.table import render_table
from tests.engine.test_cases import CASES, REPO, expected, good_runs, run


def line(name: str, claim: str, code: str):
    (out,) = run(name, claim)
    hits = [l for l in out.lines if l.code == code]
    assert len(hits) == 1, (name, claim, code, [l.code for l in out.lines])
    return hits[0]


def notices(name: str, claim: str, kind: str) -> list:
    (out,) = run(name, claim)
    return [n for n in out.notices if n.kind == kind]


# ---------------------------------------------------------------------------------- item 11: documentation
def test_missing_plan_note_is_reported_missing_for_76377() -> None:
    """Reference 003 section IV: 76376/76377 need a formal note of the surgical plan. The rendering has none."""
    checks = line("audit-rendering-without-plan-note", "medical", "76377").documentation_check
    plan = [c for c in checks if "surgical plan" in c.item]
    assert len(plan) == 1 and plan[0].present is False and plan[0].evidence == ()


def test_plan_note_on_the_rendering_procedure_is_reported_present_with_where() -> None:
    checks = line("audit-print-from-volume-with-rendering", "medical", "76377").documentation_check
    (plan,) = [c for c in checks if "surgical plan" in c.item]
    assert plan.present and plan.evidence == ("Procedure/proc-marchetti-render",)


def test_the_written_report_is_found_for_the_imaging_line() -> None:
    (report,) = line("audit-rendering-without-plan-note", "medical", "70486").documentation_check
    assert report.present and report.evidence == ("DiagnosticReport/rep-yilmaz-cbct",)


def test_documented_time_is_present_and_period_time_is_missing() -> None:
    assert [c.present for c in line("em-established-prolonged", "medical", "99215").documentation_check
            if "total time" in c.item] == [True]
    assert [c.present for c in line("em-time-from-period", "medical", "99214").documentation_check
            if "total time" in c.item] == [False]


def test_every_line_reports_each_documentation_item_it_needs() -> None:
    for name, claim, s in good_runs():
        for l in s.lines:
            assert [c.item for c in l.documentation_check] == list(l.documentation), (name, claim, l.code)


def test_json_keeps_documentation_as_strings_and_adds_the_check() -> None:
    """Contract section 5: `documentation` is a list of strings; the check is a parallel key."""
    proc = subprocess.run([sys.executable, "-m", "plugin.cli", "suggest", str(CASES / "audit-rendering-without-plan-note"),
                           "--claim", "medical", "--practice", expected("audit-rendering-without-plan-note")["practice"],
                           "--format", "json"], cwd=REPO, capture_output=True, text=True, timeout=120)
    out = json.loads(proc.stdout.splitlines()[0])
    (rendering,) = [l for l in out["lines"] if l["code"] == "76377"]
    assert all(isinstance(d, str) for d in rendering["documentation"])
    assert [(c["item"], c["present"]) for c in rendering["documentation_check"]] == [(rendering["documentation"][0], False)]


def test_table_and_fhir_say_what_is_missing() -> None:
    out = list(run("audit-rendering-without-plan-note", "medical"))
    table = " ".join(render_table(out).split())
    assert "guides or splints [MISSING]" in table
    assert "the written interpretation and report [present: DiagnosticReport/rep-yilmaz-cbct]" in table
    items = [e["resource"] for e in to_bundle(out, "R4")["entry"] if e["resource"]["resourceType"] == "ChargeItem"]
    (rendering,) = [r for r in items if "76377" in json.dumps(r["code"])]
    notes = [n["text"] for n in rendering["note"]]
    assert any("surgical plan" in t and "(missing from the record)" in t for t in notes), notes


# ---------------------------------------------------------------------------------- items 9 and 12: alternatives
def test_g2212_is_offered_from_89_minutes_only() -> None:
    """CMS counts G2212 beside 99205 from 89 min (15 min beyond the 74-minute maximum); 99417 from 75 min."""
    assert "G2212" in {a.code for a in line("em-new-patient-prolonged", "medical", "99417").alternatives}  # 95 min
    assert "G2212" not in {a.code for a in line("audit-prolonged-below-medicare", "medical", "99417").alternatives}  # 80


def test_same_day_em_beside_21085_is_offered_with_modifier_25() -> None:
    em = line("audit-splint-same-day-visit", "medical", "99213")
    assert em.modifiers == () and ("99213", ("25",)) in {(a.code, a.modifiers) for a in em.alternatives}
    (n,) = notices("audit-splint-same-day-visit", "medical", "same-day-em")
    assert n.codes == ("99213",) and "25" in n.message and n.rule == "DWC-EDIT-MOD25-1"


def test_em_without_21085_has_no_modifier_25_alternative() -> None:
    assert all("25" not in a.modifiers for a in line("em-established-prolonged", "medical", "99215").alternatives)


def test_unlisted_alternative_is_the_craniofacial_code() -> None:
    alts = {a.code for a in line("distraction-without-rendering", "medical", "99070").alternatives}
    assert "21299" in alts and "unlisted" not in alts


def test_evaluation_scope_not_recorded_offers_the_wider_codes() -> None:
    alts = {a.code: a.why for a in line("audit-new-patient-scope-not-recorded", "dental", "D0140").alternatives}
    assert {"D0150", "D0160"} <= set(alts) and "comprehensive" in alts["D0150"]


# ---------------------------------------------------------------------------------- item 12: words a reviewer reads
def test_no_notice_shows_an_empty_code_list_or_a_template_hole() -> None:
    for name, claim, s in good_runs():
        for n in s.notices:
            assert "(-)" not in n.message and "()" not in n.message and "{" not in n.message, (name, claim, n)
            assert " a established" not in n.message and " -:" not in n.message, (name, claim, n)
        for l in s.lines:
            assert " a established" not in l.rationale, (name, claim, l.code)


def test_hospital_visit_notice_reads_initial_and_subsequent_care() -> None:
    (n,) = notices("em-initial-hospital-care", "medical", "hospital-visit")
    assert "initial hospital care" in n.message and "subsequent care" in n.message
    assert "inpatient new patient" not in n.message and "inpatient established patient" not in n.message


@pytest.mark.parametrize(("name", "claim", "code", "says", "never"), [
    ("print-by-lab", "dental", "D0396", "D0396", "21085"),
    ("splint-by-lab", "medical", "99070", "21085-52", "D0396"),
    ("splint-by-lab", "dental", "D5988", "D5988", "D0396"),
    ("implant-guide-by-lab", "dental", "D6190", "D6190", "99070"),
])
def test_third_party_fabrication_says_what_is_true_of_its_code(name, claim, code, says, never) -> None:
    (n,) = notices(name, claim, "third-party-fabrication")
    assert code in n.codes and says in n.message and never not in n.message


def test_the_dental_splint_notice_does_not_tell_to_report_medical_codes() -> None:
    (n,) = notices("splint-by-lab", "dental", "third-party-fabrication")
    assert "Report 99070" not in n.message and "medical-claim" in n.message
