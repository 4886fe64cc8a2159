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
