import json
import struct

import pytest

from plugin.errors import SourceRefused
from plugin.evidence.fhir import read_fhir_json
from plugin.sources.bodies import check_fhir_body, file_media_type, parse_json, webhook_body, with_file_params
from tests.sources.shapes import procedure

DICOM_JSON = [{"0020000E": {"vr": "UI", "Value": ["1.2.3.4"]}, "00080060": {"vr": "CS", "Value": ["CT"]}}]


def binary_stl(triangles=2):
    return b"\0" * 80 + struct.pack("<I", triangles) + b"\0" * (50 * triangles)


@pytest.mark.parametrize("ctype, raw, kind", [
    ("application/fhir+json; charset=utf-8", json.dumps(procedure()).encode(), "fhir"),
    ("application/json", json.dumps(DICOM_JSON).encode(), "dicom-json"),
    ("application/dicom+json", json.dumps(DICOM_JSON).encode(), "dicom-json"),
    ("application/dicom", b"\0" * 128 + b"DICM" + b"\x02\x00", "dicom-file"),
    ("model/stl", binary_stl(), "mesh-file"),
    ("application/sla", b"solid x\nfacet normal 0 0 1\n", "mesh-file"),
    ("model/ply", b"ply\nformat ascii 1.0\n", "mesh-file"),
])
def test_kinds(ctype, raw, kind):
    assert webhook_body(file_media_type(ctype, None), raw).kind == kind


def test_a_file_keeps_the_senders_parameters_and_its_filename():
    stl = webhook_body("model/stl", binary_stl())
    kept = with_file_params(stl, 'model/stl; name="upper.stl"; encounter="Encounter/e1"', None)
    assert kept == 'model/stl; name="upper.stl"; encounter="Encounter/e1"'
    named = with_file_params(stl, "application/octet-stream", 'attachment; filename="../scans/lower.stl"')
    assert named == 'model/stl; name="lower.stl"'
    assert len(with_file_params(stl, "model/stl; " + "; ".join(f"p{i}={'x' * 90}" for i in range(20)), None)) <= 512
    fhir = webhook_body("application/fhir+json", json.dumps(procedure()).encode())
    assert with_file_params(fhir, "application/fhir+json; charset=utf-8", None) == "application/fhir+json"


def test_octet_stream_by_filename():
    assert file_media_type("application/octet-stream", 'attachment; filename="upper.STL"') == "model/stl"
    assert file_media_type("application/octet-stream", "attachment; filename=a.dcm") == "application/dicom"
    assert file_media_type("application/octet-stream", None) == "application/octet-stream"


@pytest.mark.parametrize("ctype", ["text/plain", "application/xml", "application/octet-stream", "image/png", ""])
def test_unsupported_media_types_are_415(ctype):
    with pytest.raises(SourceRefused) as err:
        webhook_body(file_media_type(ctype, None), b"x")
    assert err.value.status == 415


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe", b'{"resourceType": "Procedure",}', b""])
def test_broken_json_is_400_without_echo(raw):
    with pytest.raises(SourceRefused, match="not valid JSON") as err:
        parse_json(raw)
    assert err.value.status == 400


def test_invalid_fhir_names_path_and_field_not_values():
    bad = procedure()
    bad["performedDateTime"] = "JOHN-SMITH-1970"
    with pytest.raises(SourceRefused) as err:
        check_fhir_body(bad)
    assert err.value.status == 422 and err.value.expression == "Procedure.performedDateTime"
    assert "JOHN" not in str(err.value)


def test_invalid_resource_inside_a_bundle_names_the_entry():
    bad = procedure()
    del bad["subject"]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": procedure()}, {"resource": bad}]}
    with pytest.raises(SourceRefused, match="required element missing") as err:
        check_fhir_body(bundle)
    assert err.value.expression == "Bundle.entry[1].resource.subject"


@pytest.mark.parametrize("body", [{"no": "resourceType"}, [], {"resourceType": "NotAThing", "id": "x"}])
def test_not_fhir_is_422(body):
    with pytest.raises(SourceRefused) as err:
        check_fhir_body(body)
    assert err.value.status == 422


@pytest.mark.parametrize("resource", [
    {"resourceType": "MedicinalProduct", "id": "mp", "name": [{"productName": "Test"}]},  # R4-only type
    {"resourceType": "Evidence", "id": "ev", "status": "draft", "outcome": [{"reference": "EvidenceVariable/b"}]},
    procedure(),
    {**procedure(), "performedDateTime": "2026-13-45"},
    {"resourceType": "MedicinalProduct", "id": "mp", "meta": {"lastUpdated": "yesterday"}},
    {"resourceType": "NotAThing", "id": "x"},
])
def test_the_door_refuses_exactly_what_the_reader_refuses(resource):
    """One validation: a resource the reader keeps (or accepts and ignores) passes the door; one it reports as a
    problem is refused, naming the same field."""
    read = read_fhir_json("body.json", resource)
    if not read.problems:
        assert check_fhir_body(resource) is None
        return
    with pytest.raises(SourceRefused) as err:
        check_fhir_body(resource)
    assert err.value.status == 422
    assert (err.value.expression or "").split(".", 1)[-1] in read.problems[0].message


def test_dicom_json_without_the_tags_the_reader_needs():
    with pytest.raises(SourceRefused, match="missing SeriesInstanceUID") as err:
        webhook_body("application/dicom+json", json.dumps([{"00080060": {"vr": "CS", "Value": ["CT"]}}]).encode())
    assert err.value.status == 422


@pytest.mark.parametrize("ctype, raw", [("application/dicom", b"\0" * 200), ("model/stl", b"\0" * 90),
                                        ("model/ply", b"solid"), ("model/stl", b"")])
def test_files_that_are_not_what_they_claim(ctype, raw):
    with pytest.raises(SourceRefused) as err:
        webhook_body(ctype, raw)
    assert err.value.status == 422
