"""The command line as a user runs it: formats, exit status, bad input next to good input."""
from __future__ import annotations

import json
import subprocess
import sys

import fhir.resources.R4B.bundle as r4b_bundle
import fhir.resources.bundle as r5_bundle
import pytest

from plugin.cli import main
from tests.engine.rich_case import write_rich_case
from tests.factories import fhir as f


@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    return write_rich_case(tmp_path_factory.mktemp("cli") / "case")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plugin.cli", *args], capture_output=True, text=True, timeout=120)


def test_json_is_one_object_per_case_and_exit_zero(rich):
    done = run("suggest", str(rich), "--claim", "dental", "--practice", f.PRACTICE, "--format", "json")
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.strip().splitlines()
    out = json.loads(line)
    assert out["case"] == "Encounter/enc" and out["claim"] == "dental"
    assert {"D0366", "D0393", "D0801"} <= {l["code"] for l in out["lines"]}
    assert all(l["rule"] and l["rationale"] and l["evidence"] for l in out["lines"])


@pytest.mark.parametrize(("version", "model"), [("R4", r4b_bundle.Bundle), ("R5", r5_bundle.Bundle)])
def test_fhir_format_is_a_valid_bundle_of_chargeitems(rich, version, model):
    done = run("suggest", str(rich), "--claim", "medical", "--practice", f.PRACTICE, "--format", "fhir", "--fhir-version", version)
    assert done.returncode == 0, done.stderr
    bundle = model.model_validate(json.loads(done.stdout))
    items = [e.resource for e in bundle.entry]
    assert {i.status for i in items} == {"planned"}
    assert "21085" in {i.code.coding[0].code for i in items}


def test_table_format_is_for_people(rich, capsys):
    assert main(["suggest", str(rich), "--claim", "medical", "--practice", f.PRACTICE, "--format", "table"]) == 0
    text = capsys.readouterr().out
    assert "70486" in text and "mue-exceeded" in text and "Notices:" in text


def test_corrupt_inputs_are_named_the_rest_is_coded_and_exit_is_one(rich, tmp_path, capsys):
    case = tmp_path / "case"
    case.mkdir()
    for item in rich.iterdir():
        (case / item.name).symlink_to(item)
    (case / "broken.json").write_text("{not json")
    (case / "cut.stl").write_bytes(b"\0" * 84 + b"\x10\0\0\0" + b"\0" * 100)
    (case / "bad.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00")
    code = main(["suggest", str(case), "--claim", "dental", "--practice", f.PRACTICE])
    captured = capsys.readouterr()
    assert code == 1
    out = json.loads(captured.out)
    assert "D0366" in {l["code"] for l in out["lines"]}
    assert sorted(s["reason"] for s in out["skipped"]) == ["InvalidDicom", "InvalidMesh", "MalformedJSON"]
    for name in ("broken.json", "cut.stl", "bad.dcm"):
        assert name in captured.err
    assert "MRN-R" not in captured.err  # no patient identifiers on stderr


def test_unknown_workflow_step_is_a_notice_and_a_skip_other_codes_are_not_steps(tmp_path, capsys):
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(), f.encounter(),
                                          f.procedure("x", "cbct-scan"), f.procedure("y", "D9999", system="http://www.ada.org/cdt")))
    assert main(["suggest", str(tmp_path), "--practice", f.PRACTICE]) == 1
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert [n for n in out["notices"] if n["kind"] == "unmapped-code"][0]["codes"] == ["cbct-scan"]
    assert out["not_steps"] == [{"ref": "Procedure/y", "code": "D9999", "system": "http://www.ada.org/cdt"}]
    assert "did you mean 'cbct'" in captured.err


def test_bad_mappings_folder_exits_two(tmp_path, capsys):
    (tmp_path / "settings.yaml").write_text("default_claim: sometimes\n")
    assert main(["suggest", str(tmp_path), "--mappings", str(tmp_path)]) == 2
    assert "default_claim: 'sometimes' is not one of" in capsys.readouterr().err


def test_empty_folder_says_so(tmp_path, capsys):
    assert main(["suggest", str(tmp_path)]) == 1
    assert "no evidence found" in capsys.readouterr().err


def test_oversized_json_is_refused_without_reading_it(tmp_path, monkeypatch, capsys):
    from plugin.evidence import files

    monkeypatch.setattr(files, "MAX_JSON_BYTES", 3000)
    f.write(tmp_path, "big.json", f.bundle(*f.practice(), f.patient(), f.encounter(), *[f.procedure(f"p{i}", "photographs") for i in range(20)]))
    f.write(tmp_path / "small", "enc.json", f.bundle(f.patient(), f.encounter(minutes=30)))
    assert main(["suggest", str(tmp_path), "--practice", f.PRACTICE]) == 1
    captured = capsys.readouterr()
    assert "OversizedInput" in captured.err and "big.json" in captured.err
    assert json.loads(captured.out)["lines"]  # the rest is still coded


def test_explain_lists_each_step_and_why_each_rule_did_or_did_not_apply(rich, capsys):
    assert main(["suggest", str(rich), "--claim", "medical", "--practice", f.PRACTICE, "--explain"]) == 0
    out = json.loads(capsys.readouterr().out)
    applied = {r["id"] for step in out["explanation"] for r in step["rules"] if r["outcome"] == "applied"}
    assert {l["rule"] for l in out["lines"]} <= applied
    cbct = next(s for s in out["explanation"] if s["step"] == "cbct")
    assert cbct["facts"]["fov"] == "maxilla" and cbct["facts"]["component"] == "both"
    outcomes = {r["id"]: r["outcome"] for r in cbct["rules"]}
    assert outcomes["DWC-IMG-030"] == "not applied: setting is 'office', the rule needs 'facility'"
    assert main(["suggest", str(rich), "--claim", "medical", "--practice", f.PRACTICE, "--format", "table", "--explain"]) == 0
    assert "DWC-IMG-030 Hospital imaging" in capsys.readouterr().out


def test_fhir_chargeitem_carries_the_notices_about_its_code(rich):
    done = run("suggest", str(rich), "--claim", "medical", "--practice", f.PRACTICE, "--format", "fhir")
    items = [e["resource"] for e in json.loads(done.stdout)["entry"]]
    splint = next(i for i in items if i["code"]["coding"][0]["code"] == "21085")
    texts = " ".join(n["text"] for n in splint["note"])
    assert "Notice (global-period)" in texts and "Notice (mue-exceeded)" in texts
    scan = next(i for i in items if i["code"]["coding"][0]["code"] == "D0801")
    assert "Notice (" not in " ".join(n["text"] for n in scan.get("note", []))


# ------------------------------------------------------------------------------ patients, exit status, quiet answers
def test_an_unexpected_error_exits_two_in_one_line_without_its_text(rich, monkeypatch, capsys):
    from plugin.engine import facts

    def broken(*_args, **_kwargs):
        raise KeyError("MRN-SECRET-42")

    monkeypatch.setattr(facts, "derive", broken)
    assert main(["suggest", str(rich), "--practice", f.PRACTICE]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (KeyError)" in err
    assert "MRN-SECRET-42" not in err and "Traceback" not in err


def test_context_only_input_is_no_error_and_says_so(tmp_path, capsys):
    f.write(tmp_path, "people.json", f.bundle(f.patient(mrn="MRN-CONTEXT-9"), *f.practice()))
    f.write(tmp_path, "org.json", f.outside()[0])
    assert main(["suggest", str(tmp_path), "--practice", f.PRACTICE]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no clinical evidence in 2 file(s)" in captured.err and "MRN-CONTEXT-9" not in captured.err


def test_a_practice_that_matches_no_organization_is_said_loudly(rich, capsys):
    assert main(["suggest", str(rich), "--claim", "dental", "--practice", f.PRACTICE]) == 0
    right = json.loads(capsys.readouterr().out)
    assert "practice-not-found" not in {n["kind"] for n in right["notices"]}
    typo = f.PRACTICE[:-1] + "4"
    assert main(["suggest", str(rich), "--claim", "dental", "--practice", typo]) == 0
    captured = capsys.readouterr()
    wrong = json.loads(captured.out)
    (notice,) = [n for n in wrong["notices"] if n["kind"] == "practice-not-found"]
    assert typo in notice["message"]
    assert [l for l in captured.err.splitlines() if "matches no Organization" in l] == [
        f"dwcoder: the practice {typo} matches no Organization in the evidence: nobody is read as the practice's "
        "(see the practice-not-found notice)"]


def test_fhir_subject_is_the_patient_reference_or_the_dicom_identifier_with_its_issuer(tmp_path, capsys):
    from tests.factories.dicom import write_series

    study = {"resourceType": "ImagingStudy", "id": "img", "status": "available", "subject": {"reference": "Patient/dicom"},
             "started": "2026-05-04T10:00:00Z", "series": [{"uid": "1.2.5", "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "PX"},
                                                            "numberOfInstances": 1}]}
    f.write(tmp_path / "fhir", "study.json", study)
    write_series(tmp_path / "ct", slices=3, PatientID="MRN-D", IssuerOfPatientID="2.16.840.1.113883.3.7", StudyDate="20260504",
                 Modality="CT", SeriesDescription="CBCT both jaws", Manufacturer="Carestream Dental")
    assert main(["suggest", str(tmp_path), "--claim", "medical", "--practice", f.PRACTICE, "--format", "fhir"]) == 0
    subjects = {json.dumps(e["resource"]["subject"], sort_keys=True) for e in json.loads(capsys.readouterr().out)["entry"]}
    assert subjects == {json.dumps({"reference": "Patient/dicom"}),
                        json.dumps({"identifier": {"system": "urn:oid:2.16.840.1.113883.3.7", "value": "MRN-D"}}, sort_keys=True)}


def test_fhir_lines_of_a_case_with_no_patient_are_named_and_left_out(tmp_path, capsys):
    from tests.factories.mesh import write_binary_stl

    write_binary_stl(tmp_path / "upper.stl", "TRIOS 5 intraoral scan upper", 40, extent_mm=(60.0, 50.0, 20.0))
    assert main(["suggest", str(tmp_path), "--claim", "dental", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["lines"]  # the scan is coded...
    assert main(["suggest", str(tmp_path), "--claim", "dental", "--format", "fhir"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"resourceType": "Bundle", "type": "transaction"}  # ...but no patient to bill
    assert "dwcoder: skipped File/upper.stl: UnlinkedEvidence: case Files/" in captured.err


def test_a_date_before_every_code_set_gives_a_notice_not_silence(tmp_path, capsys):
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(), f.encounter(day="2011-03-01"),
                                          f.procedure("pan", "D0330", system="http://www.ada.org/cdt", day="2011-03-01")))
    assert main(["suggest", str(tmp_path), "--claim", "dental", "--practice", f.PRACTICE]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lines"] == [] and [n["kind"] for n in out["notices"]] == ["no-code-set"]
    assert "2011-03-01" in out["notices"][0]["message"]


def test_another_patients_records_are_named_on_stderr_without_identifiers(capsys):
    from pathlib import Path

    case = Path(__file__).parent / "cases" / "other-patients-records-in-the-encounter"
    assert main(["suggest", str(case / "bundle.json"), str(case / "pan.dcm.json"), str(case / "misfiled-cbct.dcm.json"),
                 "--claim", "dental", "--practice", "http://hl7.org/fhir/sid/us-npi|1528473063"]) == 1
    captured = capsys.readouterr()
    mismatches = [l for l in captured.err.splitlines() if ": PatientMismatch: " in l]
    assert len(mismatches) == 2 and any("misfiled-cbct.dcm.json" in l for l in mismatches)
    assert any("bundle.json#Procedure/proc-adeyemi-cbct" in l for l in mismatches)
    assert "MRN-" not in captured.err and "Adeyemi" not in captured.err
    assert [l["code"] for l in json.loads(captured.out)["lines"] if l["code"].startswith("D03")] == ["D0330"]


def test_documentation_beside_the_evidence_is_named_not_read_and_not_a_skip(rich, tmp_path, capsys):
    """A folder's README, SOURCES.md or extensionless notes are not evidence: named on stderr as not read, no
    skipped entry, exit 0. Binary junk without a suffix, or a text file named on its own, stays a skip."""
    case = tmp_path / "case"
    case.mkdir()
    for item in rich.iterdir():
        (case / item.name).symlink_to(item)
    (case / "README.md").write_text("# Where these files come from\n")
    (case / "KNOWN_INVALID").write_text("# none so far\n")
    (case / "notes.txt").write_text("Scanned by the assistant, café room 2.\n")
    (case / "junk").write_bytes(b"\x00\x01\x02binary")
    code = main(["suggest", str(case), "--claim", "dental", "--practice", f.PRACTICE])
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert [(s["source"].rsplit("/", 1)[-1], s["reason"]) for s in out["skipped"]] == [("junk", "UnsupportedFile")]
    assert code == 1  # the junk file
    notes = next(line for line in captured.err.splitlines() if line.startswith("dwcoder: not read, documentation"))
    for name in ("README.md", "KNOWN_INVALID", "notes.txt"):
        assert name in notes
    assert "junk" not in notes
    (case / "junk").unlink()
    assert main(["suggest", str(case), "--claim", "dental", "--practice", f.PRACTICE]) == 0
    capsys.readouterr()
    named = main(["suggest", str(case / "README.md"), str(case), "--claim", "dental", "--practice", f.PRACTICE])
    skipped = json.loads(capsys.readouterr().out)["skipped"]
    assert named == 1 and [s["reason"] for s in skipped] == ["UnsupportedFile"]
