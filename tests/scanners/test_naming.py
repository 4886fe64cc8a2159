"""Filename patterns and sidecars (plugin/scanners/naming.py) on real files."""
from __future__ import annotations

import json

import pytest

from plugin.errors import ConfigError, SettingsError
from plugin.scanners.naming import Link, Unlinked, compile_patterns, link
from plugin.settings import Settings

PATTERNS = compile_patterns(["{PatientID}_{date}_{jaw}.stl", "{any}_{PatientID}_orig_trios_export.stl",
                             "{PatientID}-{any}.ply", "enc-{encounter}_{PatientID}.stl"])


@pytest.mark.parametrize("name, patient, named, date, encounter", [
    ("12345_20260504_upper.stl", "12345", "20260504_upper.stl", "2026-05-04", ""),
    ("12345_2026-05-04_UpperJaw.STL", "12345", "2026-05-04_UpperJaw.STL", "2026-05-04", ""),
    ("Case7_12345_orig_trios_export.stl", "12345", "Case7_orig_trios_export.stl", "", ""),
    ("A-77-face.ply", "A", "77-face.ply", "", ""),
    ("enc-e1_12345.stl", "12345", "enc-e1.stl", "", "Encounter/e1"),
])
def test_patterns_link_by_identifier_and_cut_it_from_the_name(tmp_path, name, patient, named, date, encounter):
    path = tmp_path / name
    path.write_bytes(b"x")
    assert link(path, PATTERNS, "urn:mrn") == Link(f"urn:mrn|{patient}", encounter, date, named, "pattern")


def test_unknown_placeholders_and_patterns_without_patient_are_refused():
    with pytest.raises(ConfigError, match=r"unknown placeholder \{Jaw\}"):
        compile_patterns(["{PatientID}_{Jaw}.stl"])
    with pytest.raises(ConfigError, match=r"has no \{PatientID\}"):
        compile_patterns(["{date}_{jaw}.stl"])
    with pytest.raises(SettingsError, match="SCANNER_PATTERNS needs SCANNER_PATIENT_SYSTEM"):
        Settings.from_env({"SCANNER_PATTERNS": "{PatientID}.stl"}, dotenv=None)
    with pytest.raises(SettingsError, match="not a folder"):
        Settings.from_env({"SCANNER_FOLDERS": "/no/such/folder/here"}, dotenv=None)


@pytest.mark.parametrize("sidecar, reason", [
    ("{not json", "is not valid JSON"),
    (json.dumps({"encounter": "Encounter/e1"}), 'has no "patient" identifier'),
    (json.dumps({"patient": "urn:mrn|1", "encounter": "Patient/p1"}), '"encounter" must be "Encounter/<id>"'),
    (json.dumps({"patient": "urn:mrn|1", "date": "May 4"}), '"date" must be YYYY-MM-DD'),
    (json.dumps(["urn:mrn|1"]), "is not a JSON object"),
])
def test_bad_sidecars_hold_the_file_with_the_reason(tmp_path, sidecar, reason):
    path = tmp_path / "scan.stl"
    path.write_bytes(b"x")
    (tmp_path / "scan.stl.json").write_text(sidecar)
    found = link(path, PATTERNS, "urn:mrn")
    assert isinstance(found, Unlinked) and reason in found.reason


def test_a_sidecar_links_a_name_no_pattern_matches(tmp_path):
    path = tmp_path / "UpperJaw.stl"
    path.write_bytes(b"x")
    (tmp_path / "UpperJaw.stl.json").write_text(json.dumps(
        {"patient": {"system": "urn:mrn", "value": "12345"}, "encounter": "Encounter/e1", "date": "2026-05-04"}))
    assert link(path, PATTERNS, "urn:mrn") == Link("urn:mrn|12345", "Encounter/e1", "2026-05-04", "UpperJaw.stl", "sidecar")


import datetime  # noqa: E402

from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402

_ID = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=20).filter(
    lambda v: v.strip("_-. ") == v)


@hsettings(max_examples=200, deadline=None)
@given(value=_ID, date=st.dates(min_value=datetime.date(1900, 1, 1)).map(lambda d: d.strftime("%Y%m%d")),
       jaw=st.sampled_from(["upper", "lower", "Maxilla", "mandible", "UpperJaw"]))
def test_any_identifier_is_read_back_exactly_and_never_kept_in_the_name(value, date, jaw):
    from pathlib import Path

    name = f"{value}_{date}_{jaw}.stl"
    found = link(Path("/no/such/dir") / name, PATTERNS, "urn:mrn")
    assert found == Link(f"urn:mrn|{value}", "", f"{date[:4]}-{date[4:6]}-{date[6:]}", f"{date}_{jaw}.stl", "pattern")
