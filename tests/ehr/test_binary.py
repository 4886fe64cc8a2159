"""Reading an attachment's bytes (plugin/ehr/binary.py) from the real FHIR test server, only from its base."""
from __future__ import annotations

import base64

import httpx
import pytest

from plugin.errors import EhrRefused, EhrUnavailable, ForeignUrl, OversizedInput
from tests.pipeline.runner import ROOT

STL = (ROOT / "examples" / "orthognathic-planning" / "upper.stl").read_bytes()


def put_binary(base: str, rid: str, data: bytes, content_type: str = "model/stl") -> None:
    answer = httpx.put(f"{base}/Binary/{rid}", headers={"Content-Type": "application/fhir+json"},
                       json={"resourceType": "Binary", "id": rid, "contentType": content_type,
                             "data": base64.b64encode(data).decode()})
    assert answer.status_code in (200, 201), answer.text


def test_binary_by_reference_and_by_url_on_the_base(client, fhir_base_url):
    put_binary(fhir_base_url, "scan-1", STL)
    assert client.read_binary("Binary/scan-1") == STL
    assert client.read_binary(f"{fhir_base_url}/Binary/scan-1") == STL


def test_over_the_limit_is_not_read(client, fhir_base_url):
    put_binary(fhir_base_url, "scan-2", STL)
    with pytest.raises(OversizedInput, match="over the limit of 1000 bytes"):
        client.read_binary("Binary/scan-2", max_bytes=1000)


def test_a_url_off_the_base_is_refused_before_any_request(client, fhir_server):
    before = fhir_server.stats()
    with pytest.raises(ForeignUrl, match="outside the configured FHIR base"):
        client.read_binary("https://elsewhere.example/fhir/Binary/scan-1")
    assert fhir_server.stats() == before


def test_missing_and_failing_server(client, fhir_server):
    with pytest.raises(EhrRefused, match=r"no such attachment \(404\)"):
        client.read_binary("Binary/none")
    fhir_server.control("POST", "$fail", {"status": 503, "count": 1})
    with pytest.raises(EhrUnavailable, match="503"):
        client.read_binary("Binary/none")
