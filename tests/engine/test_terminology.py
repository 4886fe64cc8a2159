"""SNOMED CT / LOINC codes on a Procedure: mapped to workflow steps as data (terminology.yaml); a coded
procedure that is no workflow step is listed in `not_steps`, never billed, never an error."""
from __future__ import annotations

import json
import shutil

import pytest
import yaml

from plugin import mappings
from plugin.cli import code_paths, main
from plugin.errors import MappingError
from tests.factories import fhir as f

SCT = "http://snomed.info/sct"


def _case(tmp_path, *procedures):
    f.write(tmp_path, "b.json", f.bundle(*f.practice(), f.patient(), f.encounter(), *procedures))
    return tmp_path


def test_every_shipped_concept_names_a_known_step_and_a_source():
    maps = mappings.load()
    steps = set(maps.facts["step"]["values"])
    assert maps.terminology
    for (system, code), concept in maps.terminology.items():
        assert system.startswith("http") and code and concept["step"] in steps and len(concept["source"]) > 20


def test_snomed_cbct_procedure_is_the_cbct_step(tmp_path):
    proc = f.procedure("p1", "717193008", system=SCT)
    proc["bodySite"] = [{"text": "both jaws"}]
    (out,) = code_paths([str(_case(tmp_path, proc))], f.PRACTICE, "dental")
    assert [(l.step, l.code) for l in out.lines if l.step != "evaluation"] == [("cbct", "D0367")] and out.not_steps == []


def test_extraction_and_biopsy_are_not_steps_and_not_failures(tmp_path, capsys):
    ext = f.procedure("ext", "173291009", system=SCT)
    biopsy = f.procedure("bx", "86273004", system=SCT)
    biopsy["code"]["coding"].insert(0, {"system": "urn:local:proc", "display": "no code here"})
    assert main(["suggest", str(_case(tmp_path, ext, biopsy)), "--practice", f.PRACTICE, "--claim", "dental"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["not_steps"] == [{"ref": "Procedure/bx", "code": "86273004", "system": SCT},
                                {"ref": "Procedure/ext", "code": "173291009", "system": SCT}]
    assert out["skipped"] == [] and not any(n["kind"] == "unmapped-code" for n in out["notices"])
    assert captured.err == ""


def test_table_lists_not_steps_on_one_line(tmp_path, capsys):
    main(["suggest", str(_case(tmp_path, f.procedure("ext", "173291009", system=SCT))), "--practice", f.PRACTICE,
          "--format", "table"])
    lines = [l for l in capsys.readouterr().out.splitlines() if "Not a workflow step" in l]
    assert lines == ["Not a workflow step: Procedure/ext (173291009)"]


def _folder_with(tmp_path, concepts: list[dict]):
    folder = tmp_path / "2026"
    shutil.copytree(mappings.year_folder(mappings.BASE_DIR), folder)
    data = yaml.safe_load((folder / "terminology.yaml").read_text())
    data["concepts"] += concepts
    (folder / "terminology.yaml").write_text(yaml.safe_dump(data))
    return folder


@pytest.mark.parametrize("concept, message", [
    ({"system": "sct", "code": "1", "label": "thing", "step": "cbct-scan", "source": "a made-up test entry"},
     "unknown step 'cbct-scan' (did you mean 'cbct'?)"),
    ({"system": "snomed", "code": "1", "label": "thing", "step": "cbct", "source": "a made-up test entry"},
     "unknown system 'snomed'"),
    ({"system": "sct", "code": "717193008", "label": "again", "step": "cbct", "source": "a made-up test entry"},
     "listed twice"),
    ({"system": "sct", "code": "2", "label": "thing", "step": "cbct"}, "'source' is a required property"),
])
def test_a_wrong_concept_is_named(tmp_path, concept, message):
    with pytest.raises(MappingError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        mappings.load_folder(_folder_with(tmp_path, [concept]))


def test_a_practice_adds_its_own_concept(tmp_path):
    override = tmp_path / "practice"
    override.mkdir()
    (override / "terminology.yaml").write_text(yaml.safe_dump({
        "systems": {"local": "urn:oid:1.2.3.4"},
        "concepts": [{"system": "local", "code": "SPL-1", "label": "surgical splint", "step": "surgical-splint",
                      "source": "the practice's own procedure catalogue"}]}))
    case = _case(tmp_path / "case", f.procedure("s1", "SPL-1", system="urn:oid:1.2.3.4"))
    (out,) = code_paths([str(case)], f.PRACTICE, "medical", (str(override),))
    assert "surgical-splint" in [l.step for l in out.lines] and out.not_steps == []
    (plain,) = code_paths([str(case)], f.PRACTICE, "medical")
    assert "surgical-splint" not in [l.step for l in plain.lines] and plain.not_steps[0]["ref"] == "Procedure/s1"


def _study(sid: str, codings: list[dict], series: list[dict] | None = None, r5: bool = False) -> dict:
    study = {"resourceType": "ImagingStudy", "id": sid, "status": "available", "subject": {"reference": "Patient/pt"},
             "encounter": {"reference": "Encounter/enc"}, "started": "2026-05-04T10:00:00Z"}
    if r5:
        study["procedure"] = [{"concept": {"coding": codings}}]
    else:
        study["procedureCode"] = [{"coding": codings}]
    if series:
        study["series"] = series
    return study


@pytest.mark.parametrize("r5", [False, True])
def test_imaging_study_known_only_by_its_procedure_code(tmp_path, r5):
    study = _study("img", [{"system": SCT, "code": "89846007"}], r5=r5)
    (out,) = code_paths([str(_case(tmp_path, study))], f.PRACTICE, "dental")
    assert [(l.step, l.code) for l in out.lines if l.step != "evaluation"] == [("panoramic-image", "D0330")]


def test_a_ct_series_whose_study_is_coded_cone_beam_is_cbct(tmp_path):
    series = [{"uid": "1.2.3.4", "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"},
               "bodySite": {"display": "both jaws"}}]
    study = _study("img", [{"system": SCT, "code": "717193008"}], series)
    (out,) = code_paths([str(_case(tmp_path, study))], f.PRACTICE, "dental", explain=True)
    assert [s["step"] for s in out.explanation if s["step"] != "evaluation"] == ["cbct"]
    uncoded = _study("img", [{"system": SCT, "code": "173291009"}], series)
    (plain,) = code_paths([str(_case(tmp_path / "b", uncoded))], f.PRACTICE, "dental", explain=True)
    assert [s["step"] for s in plain.explanation if s["step"] != "evaluation"] == ["ct"]


def test_document_typed_as_a_ceph_is_the_ceph_step_and_notes_are_not_listed(tmp_path):
    ceph = {"resourceType": "DocumentReference", "id": "doc-ceph", "status": "current",
            "subject": {"reference": "Patient/pt"}, "context": {"encounter": [{"reference": "Encounter/enc"}]},
            "type": {"coding": [{"system": "http://loinc.org", "code": "43787-1"}]},
            "author": [{"reference": "Practitioner/dr"}],
            "content": [{"attachment": {"contentType": "image/jpeg", "title": "lateral ceph"}}]}
    note = dict(ceph, id="doc-note", type={"coding": [{"system": "http://loinc.org", "code": "11506-3"}]})
    (out,) = code_paths([str(_case(tmp_path, ceph, note))], f.PRACTICE, "dental")
    assert [(l.step, l.code) for l in out.lines if l.step != "evaluation"] == [("cephalometric-image", "D0340")]
    assert out.not_steps == [] and out.skipped == []
