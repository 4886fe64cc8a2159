"""Yearly code sets: a case is coded with the set in force on its date of service, and `dwcoder code-sets check`
finds what is wrong with a year folder (plugin/code_sets.py)."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from plugin import code_sets, mappings
from plugin.cli import code_paths, main
from tests.pipeline.runner import ROOT

EXAMPLE = ROOT / "examples" / "orthognathic-planning"
PRACTICE = "http://hl7.org/fhir/sid/us-npi|1234567893"


def _fhir_case(tmp_path, day: str):
    """The example's FHIR part (no DICOM: its headers carry their own study date) on another date of service."""
    folder = tmp_path / f"case-{day}"
    folder.mkdir()
    text = (EXAMPLE / "bundle.json").read_text().replace("2026-05-04", day)
    (folder / "bundle.json").write_text(text)
    return folder


def _base_copy(tmp_path):
    base = tmp_path / "mappings"
    shutil.copytree(mappings.BASE_DIR, base)
    return base


def test_the_shipped_code_sets_pass_the_check():
    assert code_sets.check_years(mappings.BASE_DIR) == []
    assert main(["code-sets", "check"]) == 0


@pytest.mark.parametrize("day,version", [("2026-05-04", "2026.1"), ("2026-12-31", "2026.1"),
                                         ("2027-01-01", "2027.0"), ("2027-05-04", "2027.0")])
def test_a_case_is_coded_with_the_set_in_force_on_its_date(tmp_path, day, version):
    [result] = code_paths([str(_fhir_case(tmp_path, day))], PRACTICE, None)
    assert result.mappings_version == version and result.lines


def test_the_2027_set_is_a_copy_it_codes_2026_cases_alike(tmp_path):
    [old] = code_paths([str(_fhir_case(tmp_path, "2026-05-04"))], PRACTICE, None)
    [new] = code_paths([str(_fhir_case(tmp_path, "2027-05-04"))], PRACTICE, None)
    assert [(l.code, l.modifiers, l.quantity) for l in old.lines] == [(l.code, l.modifiers, l.quantity) for l in new.lines]


def test_a_changed_year_changes_only_the_cases_of_that_year(tmp_path, monkeypatch):
    base = _base_copy(tmp_path)
    [line] = [l for l in code_paths([str(_fhir_case(tmp_path, "2026-05-04"))], PRACTICE, None)[0].lines][:1]
    codes = base / "2027" / "codes.yaml"
    text = codes.read_text()
    pattern = re.compile(r'(code: ' + re.escape(line.code) + r', system: \w+, label: )"[^"]*"')
    assert pattern.search(text), line.code
    codes.write_text(pattern.sub(r'\1"Relabelled for 2027"', text, count=1))
    monkeypatch.setattr(mappings, "BASE_DIR", base)
    [in_2026] = code_paths([str(_fhir_case(tmp_path, "2026-06-01"))], PRACTICE, None)
    [in_2027] = code_paths([str(_fhir_case(tmp_path, "2027-06-01"))], PRACTICE, None)
    label = {l.code: l.label for l in in_2027.lines}[line.code]
    assert label == "Relabelled for 2027" and {l.code: l.label for l in in_2026.lines}[line.code] != label


def _set_period(base, year: str, start: str, end: str | None):
    manifest = base / year / "manifest.yaml"
    to = f'"{end}"' if end else "null"
    manifest.write_text(re.sub(r"valid: \{.*\}", f'valid: {{from: "{start}", to: {to}}}', manifest.read_text()))


@pytest.mark.parametrize("start,end,message", [
    ("2027-01-02", "2027-12-31", r"2027: starts 2027-01-02, which leaves a gap after 2026 \(ends 2026-12-31\)"),
    ("2026-12-01", "2027-12-31", r"2027: starts 2026-12-01, which overlaps 2026"),
])
def test_periods_must_be_contiguous(tmp_path, start, end, message):
    base = _base_copy(tmp_path)
    _set_period(base, "2027", start, end)
    assert any(re.search(message, p) for p in code_sets.check_years(base)), code_sets.check_years(base)
    assert main(["code-sets", "check", str(base)]) == 1


def test_an_open_ended_year_before_another_is_reported(tmp_path):
    base = _base_copy(tmp_path)
    _set_period(base, "2026", "2026-01-01", None)
    assert any("2026: open-ended" in p for p in code_sets.check_years(base))


def test_an_unregistered_rule_id_and_a_wrong_year_are_reported(tmp_path):
    base = _base_copy(tmp_path)
    registry = base / "RULE_IDS"
    first = next(l for l in registry.read_text().splitlines() if l and not l.startswith("#"))
    registry.write_text(registry.read_text().replace(first + "\n", ""))
    manifest = base / "2027" / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("code_set_year: 2027", "code_set_year: 2026"))
    problems = code_sets.check_years(base)
    assert f"2026: rule ids not registered in RULE_IDS: {first}" in problems
    assert "2027: manifest code_set_year is 2026, not 2027" in problems


def test_a_code_without_a_label_is_reported(tmp_path):
    base = _base_copy(tmp_path)
    codes = base / "2027" / "codes.yaml"
    codes.write_text(codes.read_text().replace('label: "Oral evaluation, limited, problem focused"', 'label: " "', 1))
    assert "2027: codes without a label: D0140" in code_sets.check_years(base)


def test_a_data_file_missing_from_one_year_is_reported(tmp_path):
    base = _base_copy(tmp_path)
    (base / "2027" / "review.yaml").unlink()
    assert "2027: lacks review.yaml (present in another year)" in code_sets.check_years(base)


def test_a_year_folder_that_does_not_load_is_named(tmp_path):
    base = _base_copy(tmp_path)
    (base / "2027" / "rules.yaml").write_text("- {id: X}\n")
    assert any(p.startswith("2027: does not load:") for p in code_sets.check_years(base))


def test_the_code_sets_folder_can_move(tmp_path):
    """DWCODER_CODE_SETS (the container image's /app/mappings) is read at import; DWCODER_MAPPINGS is left to overrides."""
    import os
    import subprocess
    import sys

    base = _base_copy(tmp_path)
    overrides = tmp_path / "practice"
    overrides.mkdir()
    code = "from plugin import mappings; print(mappings.BASE_DIR)"
    env = {**os.environ, "DWCODER_CODE_SETS": str(base), "DWCODER_MAPPINGS": str(overrides)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.stdout.strip() == str(base), out.stderr
    run = subprocess.run([sys.executable, "-m", "plugin.cli", "suggest", str(_fhir_case(tmp_path, "2027-02-02")),
                          "--practice", PRACTICE, "--mappings", str(overrides)], env=env, capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[0])["mappings_version"] == "2027.0+practice"
