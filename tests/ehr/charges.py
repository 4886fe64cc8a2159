"""ChargeItems and identifiers for the EHR tests, shaped like plugin.output.chargeitems makes them."""
from __future__ import annotations

import uuid

import httpx

LINE_SYSTEM = "https://dwcoder.org/fhir/sid/charge-line"
CPT = "http://www.ama-assn.org/go/cpt"


def identifier(n: int = 0) -> dict:
    return {"system": LINE_SYSTEM, "value": str(uuid.uuid5(uuid.NAMESPACE_URL, f"test-line-{n}"))}


def charge_item(n: int = 0, code: str = "70486", quantity: int = 1, patient: str = "Patient/p1") -> dict:
    return {
        "resourceType": "ChargeItem",
        "identifier": [identifier(n)],
        "status": "planned",
        "code": {"coding": [{"system": CPT, "code": code}]},
        "subject": {"reference": patient},
        "quantity": {"value": quantity},
    }


def server_items(base_url: str, n: int | None = None) -> list[dict]:
    """What the server holds, read with plain HTTP (not through the client under test)."""
    params = {"identifier": f"{LINE_SYSTEM}|{identifier(n)['value']}"} if n is not None else {}
    bundle = httpx.get(f"{base_url}/ChargeItem", params=params).raise_for_status().json()
    return [e["resource"] for e in bundle.get("entry") or []]


def someone_sets_status(base_url: str, n: int, status: str) -> dict:
    """Another system (a biller) moves the ChargeItem on: a plain PUT by id, not through our client."""
    (item,) = server_items(base_url, n)
    item["status"] = status
    return httpx.put(f"{base_url}/ChargeItem/{item['id']}", json=item,
                     headers={"Content-Type": "application/fhir+json"}).raise_for_status().json()
