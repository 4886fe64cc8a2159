"""Order and duplicate independence: the same evidence in any order, or repeated, codes the same."""
from __future__ import annotations

import json

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin import mappings
from plugin.case import assemble
from plugin.engine import suggest
from plugin.evidence.files import read_paths
from plugin.evidence.model import ReadResult
from plugin.output.chargeitems import to_bundle
from tests.engine.rich_case import write_rich_case
from tests.factories import fhir as f


def code(evidence: list, claim: str) -> tuple[str, str]:
    maps = mappings.load()
    results = [suggest(c, maps) for c in assemble(ReadResult(evidence=list(evidence)), f.PRACTICE, claim, maps)]
    return json.dumps([r.as_dict() for r in results], sort_keys=True), json.dumps(to_bundle(results, "R4"), sort_keys=True)


@pytest.fixture(scope="module")
def evidence(tmp_path_factory):
    return read_paths([write_rich_case(tmp_path_factory.mktemp("rich"))]).evidence


def test_rich_case_codes_something_on_both_claims(evidence):
    for claim in ("dental", "medical"):
        lines = json.loads(code(evidence, claim)[0])[0]["lines"]
        assert len(lines) >= 5, claim


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), claim=st.sampled_from(["dental", "medical"]))
def test_any_order_and_duplicates_give_the_same_output(evidence, data, claim):
    reference = code(evidence, claim)
    shuffled = data.draw(st.permutations(evidence))
    repeats = data.draw(st.lists(st.sampled_from(evidence), max_size=len(evidence)))
    assert code(list(shuffled) + repeats, claim) == reference


def test_encapsulated_stl_counts_as_a_scan_only_when_it_says_so(tmp_path):
    from tests.factories.dicom import dataset_json

    def series(uid: str, description: str) -> list:
        return [dataset_json(Modality="M3D", SeriesInstanceUID=uid, StudyInstanceUID="1.2.3", PatientID="MRN-1",
                             StudyDate="20260504", SeriesDescription=description, SOPInstanceUID=uid + ".1")]

    f.write(tmp_path, "bundle.json", f.bundle(*f.practice(), f.patient(), f.encounter()))
    f.write(tmp_path, "scan.dcm.json", series("1.2.3.4", "TRIOS 5 intraoral scan upper"))
    f.write(tmp_path, "model.dcm.json", series("1.2.3.5", "segmented mandible for printing"))
    (out,) = [r.as_dict() for r in __import__("plugin.cli", fromlist=["x"]).code_paths([str(tmp_path)], f.PRACTICE, "dental")]
    scans = [l for l in out["lines"] if l["code"] == "D0801"]
    assert len(scans) == 1 and scans[0]["evidence"] == ["Series/1.2.3.4"]
