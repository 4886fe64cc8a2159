"""The clinical case the CDS tests use (examples/orthognathic-planning: CBCT DICOM, Procedures, an STL, the
practice directory) split the way a real deployment receives it: some through the pipeline (PACS, scanner),
some only in the hook's prefetch, some only on the EHR's FHIR server. Requests are shaped as the CDS Hooks 2.0
specification's own examples (Calling a CDS Service; the encounter-discharge / order-sign hook pages)."""
from __future__ import annotations

import json
from pathlib import Path

from plugin import pipeline
from plugin.feed import folder_events
from plugin.store.events import accept
from tests.pipeline.runner import cli_items, drain

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "examples" / "orthognathic-planning"
PATIENT, ENCOUNTER = "pt", "enc"
SERVICE = "dwcoder-encounter-discharge"


def resources() -> list[dict]:
    return [e["resource"] for e in json.loads((FOLDER / "bundle.json").read_text())["entry"]]


def of_type(*types: str) -> list[dict]:
    return [r for r in resources() if r["resourceType"] in types]


def searchset(items: list[dict]) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(items),
            "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r} for r in items]}


def through_pipeline(settings, store, skip_types: tuple[str, ...] = ()) -> None:
    """The folder's events, less the resources of `skip_types`, accepted and processed by the pipeline."""
    events = []
    for event in folder_events(FOLDER):
        if event.kind == "fhir" and json.loads(event.body).get("resourceType") in skip_types:
            continue
        events.append(event)
    accept(store, events)
    drain(pipeline.Context(settings, store))


def request(hook: str = "encounter-discharge", prefetch: dict | None = None, fhir_server: str | None = None,
            token: str | None = None, encounter: str | None = ENCOUNTER) -> dict:
    """Shaped as the specification's example request (hookInstance, fhirServer, fhirAuthorization, context)."""
    body: dict = {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "hook": hook,
                  "context": {"userId": "PractitionerRole/A2340113", "patientId": PATIENT}}
    if encounter:
        body["context"]["encounterId"] = encounter
    if hook == "order-sign":
        body["context"]["draftOrders"] = {"resourceType": "Bundle", "type": "collection", "entry": []}
    if fhir_server:
        body["fhirServer"] = fhir_server
    if token:
        body["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer", "expires_in": 300,
                                     "scope": "patient/Patient.read patient/Procedure.read", "subject": "cds-service4"}
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def full_prefetch() -> dict:
    return {"patient": of_type("Patient")[0], "encounter": of_type("Encounter")[0],
            "procedures": searchset(of_type("Procedure")), "imagingStudies": searchset(of_type("ImagingStudy")),
            "documents": None, "coverage": None}


def expected_identifiers(practice: str) -> set[str]:
    """What `dwcoder suggest` gives for the whole folder: the lines a card must offer."""
    return {item["identifier"][0]["value"] for item in cli_items(FOLDER, practice)}


def on_server(fhir_server, items: list[dict]) -> None:
    """Each resource PUT by id on the real FHIR test server."""
    import httpx

    with httpx.Client(timeout=10) as http:
        for r in items:
            got = http.put(f"{fhir_server.base_url}/{r['resourceType']}/{r['id']}", json=r,
                           headers={"content-type": "application/fhir+json"})
            assert got.status_code in (200, 201), got.text


def card_lines(card: dict) -> set[str]:
    """Line identifiers a card offers: the uuids of its per-line suggestions (one action each)."""
    return {s["uuid"] for s in card.get("suggestions", []) if len(s["actions"]) == 1}
