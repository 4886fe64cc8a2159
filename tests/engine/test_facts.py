"""facts.yaml (what rules may read) and engine/facts.py (what is computed) must agree."""
from __future__ import annotations

from pathlib import Path

from plugin import mappings
from plugin.case import assemble
from plugin.engine import facts
from plugin.evidence.files import read_paths
from tests.engine.rich_case import write_rich_case
from tests.factories import fhir as f

CASES = Path(__file__).resolve().parent.parent / "cases"


def all_facts(tmp_path) -> list[dict]:
    maps = mappings.load()
    folders = [write_rich_case(tmp_path / "rich")] + sorted(p for p in CASES.glob("*") if p.is_dir())
    out = []
    for folder in folders:
        for claim in ("dental", "medical"):
            for case in assemble(read_paths([folder]), f.PRACTICE, claim, maps):
                out += [i.facts for i in facts.derive(case, maps).instances]
    return out


def test_computed_facts_are_declared_and_declared_facts_are_computed(tmp_path):
    declared = set(mappings.load().facts)
    computed = [set(d) for d in all_facts(tmp_path)]
    assert set().union(*computed) <= declared
    assert declared - set().union(*computed) == {"billed"}  # billed is added per phase by rules.apply


def test_enum_facts_take_declared_values(tmp_path):
    spec = mappings.load().facts
    for d in all_facts(tmp_path):
        for name, value in d.items():
            if spec[name]["type"] == "enum":
                assert str(value) in spec[name]["values"], (name, value)


def _derive(tmp_path, *resources) -> facts.Derived:
    import json
    maps = mappings.load()
    for n, res in enumerate(resources):
        (tmp_path / f"r{n}.json").write_text(json.dumps(res))
    (case,) = assemble(read_paths([tmp_path]), f.PRACTICE, "dental", maps)
    return facts.derive(case, maps)


def test_r4_media_with_one_attachment_is_a_mesh_source(tmp_path):
    media = {"resourceType": "Media", "id": "m1", "status": "completed",
             "content": {"contentType": "model/stl", "title": "Medit i700 scan upper arch"}}
    derived = _derive(tmp_path, media)
    assert [(i.step, i.evidence) for i in derived.instances] == [("intraoral-scan", ["Media/m1"])]


def test_a_designed_guide_attachment_is_no_scan_and_says_why(tmp_path):
    doc = {"resourceType": "DocumentReference", "id": "d1", "status": "current",
           "content": [{"attachment": {"contentType": "model/stl", "title": "Surgical guide 36 46 designed"}}]}
    derived = _derive(tmp_path, doc)
    assert derived.instances == []
    assert [(n["kind"], n["detail"].split(":")[0]) for n in derived.notices] == [("not-a-scan", "DocumentReference/d1")]


def test_a_series_performed_by_a_known_cone_beam_device_is_cbct(tmp_path):
    device = {"resourceType": "Device", "id": "dev1", "manufacturer": "Planmeca",
              "deviceName": [{"name": "ProMax 3D Mid", "type": "model-name"}]}
    study = {"resourceType": "ImagingStudy", "id": "s1", "status": "available", "subject": {"reference": "Patient/p1"},
             "started": "2026-03-02T10:00:00Z",
             "series": [{"uid": "1.2.3.4", "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM",
                                                        "code": "CT"}, "description": "Volume",
                         "performer": [{"actor": {"reference": "Device/dev1"}}]}]}
    steps = [i.step for i in _derive(tmp_path, device, study).instances]
    assert steps == ["cbct"]
