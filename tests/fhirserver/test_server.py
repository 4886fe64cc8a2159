"""The test FHIR server itself: what it adds to Medplum's router, so the other tests can rely on it."""
from __future__ import annotations

import httpx
import pytest

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def item(value: str = "a", **extra) -> dict:
    return {"resourceType": "ChargeItem", "status": "planned", "code": {"text": "x"},
            "subject": {"reference": "Patient/p1"}, "identifier": [{"system": "urn:test", "value": value}], **extra}


def test_invalid_resources_are_refused_on_create_update_and_conditional_update(fhir_base_url):
    bad = item(flavour="sweet")
    assert httpx.post(f"{fhir_base_url}/ChargeItem", json=bad, headers=FHIR_JSON).status_code == 400
    made = httpx.post(f"{fhir_base_url}/ChargeItem", json=item(), headers=FHIR_JSON).json()
    assert httpx.put(f"{fhir_base_url}/ChargeItem/{made['id']}", json={**bad, "id": made["id"]},
                     headers=FHIR_JSON).status_code == 400
    r = httpx.put(f"{fhir_base_url}/ChargeItem?identifier=urn:test|a", json=bad, headers=FHIR_JSON)
    assert r.status_code == 400 and "ChargeItem.flavour" in r.text


def test_each_batch_entry_is_validated(fhir_base_url):
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": item("ok"), "request": {"method": "POST", "url": "ChargeItem"}},
        {"resource": {**item("bad"), "quantity": {"value": "two"}}, "request": {"method": "POST", "url": "ChargeItem"}},
    ]}
    out = httpx.post(fhir_base_url, json=bundle, headers=FHIR_JSON).json()
    assert [e["response"]["status"][:3] for e in out["entry"]] == ["201", "400"]
    found = httpx.get(f"{fhir_base_url}/ChargeItem").json()
    assert [r["identifier"][0]["value"] for r in (e["resource"] for e in found["entry"])] == ["ok"]


def test_unknown_search_parameters_are_400_everywhere(fhir_base_url):
    assert httpx.get(f"{fhir_base_url}/ChargeItem", params={"flavour": "x"}).status_code == 400
    assert httpx.get(f"{fhir_base_url}/ChargeItem", params={"subject.name": "x"}).status_code == 400
    assert httpx.put(f"{fhir_base_url}/ChargeItem?flavour=x", json=item(), headers=FHIR_JSON).status_code == 400
    r = httpx.post(f"{fhir_base_url}/ChargeItem", json=item(), headers={**FHIR_JSON, "If-None-Exist": "flavour=x"})
    assert r.status_code == 400
    bundle = {"resourceType": "Bundle", "type": "batch",
              "entry": [{"request": {"method": "GET", "url": "ChargeItem?flavour=x"}}]}
    assert httpx.post(fhir_base_url, json=bundle, headers=FHIR_JSON).status_code == 400
    assert httpx.get(f"{fhir_base_url}/ChargeItem", params={"status": "planned", "identifier": "urn:test|a"}).status_code == 200


def test_post_drops_a_client_id_and_if_match_is_honoured(fhir_base_url):
    first = httpx.post(f"{fhir_base_url}/ChargeItem", json=item(id="mine"), headers=FHIR_JSON)
    assert first.status_code == 201 and first.json()["id"] != "mine"
    assert first.headers["ETag"] == f'W/"{first.json()["meta"]["versionId"]}"'
    rid = first.json()["id"]
    ok = httpx.put(f"{fhir_base_url}/ChargeItem/{rid}", json=item(id=rid, status="billable"),
                   headers={**FHIR_JSON, "If-Match": first.headers["ETag"]})
    assert ok.status_code == 200
    stale = httpx.put(f"{fhir_base_url}/ChargeItem/{rid}", json=item(id=rid),
                      headers={**FHIR_JSON, "If-Match": first.headers["ETag"]})
    assert stale.status_code == 412


def test_conditional_create_makes_one(fhir_base_url):
    codes = [httpx.post(f"{fhir_base_url}/ChargeItem", json=item(), headers={**FHIR_JSON, "If-None-Exist": "identifier=urn:test|a"}).status_code
             for _ in range(3)]
    assert codes == [201, 200, 200]


def test_stop_start_keeps_port_and_data_kill_loses_data(fhir_server):
    httpx.post(f"{fhir_server.base_url}/ChargeItem", json=item(), headers=FHIR_JSON).raise_for_status()
    port = fhir_server.port
    fhir_server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{fhir_server.base_url}/ChargeItem")
    fhir_server.start()
    assert fhir_server.port == port
    assert httpx.get(f"{fhir_server.base_url}/ChargeItem").json()["total"] == 1
    fhir_server.kill()
    fhir_server.start()
    assert httpx.get(f"{fhir_server.base_url}/ChargeItem").json()["total"] == 0


def test_identifier_search_follows_updates_deletes_and_restarts(fhir_server):
    base = fhir_server.base_url

    def ids(token: str) -> list[str]:
        return [e["resource"]["id"] for e in httpx.get(f"{base}/ChargeItem", params={"identifier": token}).json().get("entry", [])]

    made = httpx.post(f"{base}/ChargeItem", json=item("a"), headers=FHIR_JSON).json()
    other = httpx.post(f"{base}/ChargeItem", json=item("b"), headers=FHIR_JSON).json()
    assert ids("urn:test|a") == [made["id"]] and ids("URN:TEST|A") == [made["id"]]   # token search ignores case
    httpx.put(f"{base}/ChargeItem/{made['id']}", json=item("c", id=made["id"]), headers=FHIR_JSON).raise_for_status()
    assert ids("urn:test|a") == [] and ids("urn:test|c") == [made["id"]]
    assert sorted(ids("urn:test|c,urn:test|b")) == sorted([made["id"], other["id"]])   # OR: the scan decides
    httpx.delete(f"{base}/ChargeItem/{other['id']}").raise_for_status()
    assert ids("urn:test|b") == []
    fhir_server.stop()
    fhir_server.start()
    assert ids("urn:test|c") == [made["id"]] and ids("urn:test|b") == []
