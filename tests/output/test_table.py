"""Plain-text table output for people."""
from __future__ import annotations

from plugin.output.table import WIDTH, render_table
from plugin.suggestion import CDT, CPT, Alternative, Line, Notice, Suggestion


def suggestions() -> list[Suggestion]:
    medical = Suggestion(
        case="Encounter/enc-1", claim="medical", practice="http://hl7.org/fhir/sid/us-npi|1234567893",
        patient="Patient/pt-1", encounter="Encounter/enc-1", date="2026-10-14",
        lines=[
            Line(code="70486", system=CPT, label="CT maxillofacial", modifiers=("26",), quantity=1, step="ct",
                 rule="ct-interpretation-only", rationale="The hospital bills the capture; the practice interprets.",
                 evidence=("ImagingStudy/img-1",), alternatives=(Alternative("D0367", "dental claim"),)),
            Line(code="21085", system=CPT, label="Oral surgical splint", modifiers=("52", "TC"), quantity=2,
                 step="surgical-splint", rule="splint-outside-lab",
                 rationale="The splint was fabricated by an outside laboratory from the virtual plan. " * 5,
                 evidence=("File/splint.stl",), documentation=("lab invoice",)),
        ],
        notices=[
            Notice("global-period", ("21085",), "21085 carries a 10-day global period."),
            Notice("third-party-fabrication", (), "Made by an outside lab: no D0396."),
        ],
        skipped=[{"source": "scan.ply", "reason": "InvalidMesh", "message": "truncated PLY"}],
    )
    dental = Suggestion(
        case="Patient/pt-2|2026-10-15", claim="dental", practice="1234567893", patient_identifier="PID-2",
        lines=[Line(code="D0367", system=CDT, label="CBCT both jaws", modifiers=(), quantity=1, step="cbct",
                    rule="", rationale="", evidence=())],
    )
    empty = Suggestion(case="Encounter/enc-3", claim="dental", practice="1234567893", date="2026-10-16")
    return [medical, dental, empty]


def test_contains_every_code_notice_and_skipped_input():
    text = render_table(suggestions())
    for code in ("70486", "21085", "D0367"):
        assert code in text
    assert "! global-period: 21085 carries a 10-day global period." in text
    assert "! third-party-fabrication: Made by an outside lab: no D0396." in text
    assert "scan.ply" in text and "truncated PLY" in text and "InvalidMesh" in text


def test_heading_per_case():
    text = render_table(suggestions())
    assert "Case Encounter/enc-1  claim: medical  date: 2026-10-14" in text
    assert "Case Patient/pt-2|2026-10-15  claim: dental  date: unknown" in text
    assert "(no charge lines)" in text


def test_columns_are_aligned():
    lines = render_table(suggestions()[:1]).splitlines()
    header = next(line for line in lines if line.lstrip().startswith("code"))
    rows = [line for line in lines if line.lstrip().startswith(("70486", "21085"))]
    assert len(rows) == 2
    for col in ("modifiers", "qty", "step", "label", "rule"):
        start = header.index(col)
        for row in rows:
            assert row[start - 2:start] == "  " and row[start] != " "
    assert "52,TC" in rows[1]


def test_rationale_wrapped_under_its_line():
    lines = render_table(suggestions()).splitlines()
    assert all(len(line) <= WIDTH for line in lines)
    i = next(n for n, line in enumerate(lines) if line.lstrip().startswith("21085"))
    assert lines[i + 1].startswith("      The splint was fabricated")
    assert lines[i + 2].startswith("      ")
    assert any("needs: lab invoice" in line for line in lines)
    assert any("instead: D0367 (dental claim)" in line for line in lines)


def test_order_notices_after_lines_skipped_last():
    text = render_table(suggestions()[:1])
    assert text.index("21085  ") < text.index("Notices:") < text.index("Skipped inputs:")


def test_deterministic_plain_text():
    a = render_table(suggestions())
    assert a == render_table(suggestions())
    assert "\x1b" not in a
    assert a.endswith("\n")
    assert all(line == line.rstrip() for line in a.splitlines())


def test_no_cases():
    assert render_table([]) == "(no cases)\n"
