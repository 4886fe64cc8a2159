"""Reading and searching: only ever from the configured base."""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from plugin.ehr import FhirClient
from plugin.errors import EhrRefused, ForeignUrl
from tests.ehr.charges import charge_item


def _post(base: str, resource: dict) -> dict:
    return httpx.post(f"{base}/{resource['resourceType']}", json=resource,
                      headers={"Content-Type": "application/fhir+json"}).raise_for_status().json()


def test_read_by_reference_and_by_absolute_url_on_the_base(client, fhir_base_url):
    made = _post(fhir_base_url, {"resourceType": "Procedure", "status": "completed", "subject": {"reference": "Patient/p1"}})
    assert client.read(f"Procedure/{made['id']}")["id"] == made["id"]
    assert client.read(f"{fhir_base_url}/Procedure/{made['id']}")["id"] == made["id"]
    vid = made["meta"]["versionId"]
    assert client.read(f"Procedure/{made['id']}/_history/{vid}")["meta"]["versionId"] == vid


def test_missing_resource_reads_as_none(client):
    assert client.read("Procedure/does-not-exist") is None


def _foreign(base: str) -> list[str]:
    parts = urlsplit(base)
    return [
        f"http://elsewhere.example/fhir/Procedure/1",
        f"{parts.scheme}://{parts.hostname}:{parts.port + 1}/fhir/Procedure/1",      # other port
        f"https://{parts.hostname}:{parts.port}/fhir/Procedure/1",                  # other scheme
        f"{parts.scheme}://{parts.hostname}:{parts.port}/other/Procedure/1",          # outside the base path
        f"{parts.scheme}://{parts.hostname}:{parts.port}/fhirx/Procedure/1",          # a prefix is not the base
        f"{base}/../$reset",                                                         # climbing out
        f"{parts.scheme}://{parts.hostname}:{parts.port}@elsewhere.example/fhir/Procedure/1",  # userinfo trick
        "file:///etc/passwd",
        "Procedure/1?_include=*",                                                    # not a plain reference
        "../Procedure/1",
    ]


def test_foreign_urls_are_refused_before_any_request(client, fhir_server):
    before = fhir_server.stats()["fhir_requests"]
    for url in _foreign(fhir_server.base_url):
        with pytest.raises(ForeignUrl, match="refused, not fetched") as err:
            client.read(url)
        assert url not in str(err.value)
    assert fhir_server.stats()["fhir_requests"] == before


def test_search_follows_next_links_on_the_base(client, fhir_base_url):
    for n in range(5):
        client.upsert_charge_item(charge_item(n))
    found = client.search("ChargeItem", {"status": "planned", "_count": "2"})
    assert len(found) == 5 and len({r["id"] for r in found}) == 5


def test_search_refuses_a_next_link_off_the_base(client, fhir_server):
    for n in range(3):
        client.upsert_charge_item(charge_item(n))
    fhir_server.control("POST", "$next-base", {"base": "http://elsewhere.example/fhir"})
    with pytest.raises(ForeignUrl):
        client.search("ChargeItem", {"_count": "2"})


def test_unknown_search_parameter_is_refused_by_the_server_not_silently_empty(client):
    with pytest.raises(EhrRefused, match="unknown search parameter 'flavour'") as err:
        client.search("ChargeItem", {"flavour": "sweet"})
    assert err.value.status == 400


def test_search_by_status_and_subject(client, fhir_base_url):
    client.upsert_charge_item(charge_item(1, patient="Patient/a"))
    client.upsert_charge_item(charge_item(2, patient="Patient/b"))
    client.withdraw_charge_item(charge_item(2)["identifier"][0])
    assert [r["subject"]["reference"] for r in client.search("ChargeItem", {"status": "planned"})] == ["Patient/a"]
    assert [r["status"] for r in client.search("ChargeItem", {"subject": "Patient/b"})] == ["entered-in-error"]


def test_a_base_with_a_query_is_not_a_base():
    with pytest.raises(ValueError, match="without query"):
        FhirClient("http://127.0.0.1:1/fhir?x=1")


def test_logs_hold_no_urls_queries_or_resources(client, fhir_base_url, caplog):
    import logging
    caplog.set_level(logging.DEBUG)
    marker = "Brennan-Aoife-MRN-4711"
    assert client.search("ChargeItem", {"subject": f"Patient/{marker}"}) == []
    assert client.read(f"Patient/{marker}") is None
    client.upsert_charge_item(charge_item(1, patient=f"Patient/{marker}"))
    assert "search ChargeItem" in caplog.text        # the interaction is logged ...
    assert marker not in caplog.text and fhir_base_url not in caplog.text   # ... not what it carried
