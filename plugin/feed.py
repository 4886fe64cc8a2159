"""A folder of evidence as the events a clinical system would send (used by `dwcoder demo` and the tests).

Each FHIR resource is one "fhir" event (dedup key "Type/id/_history/vid", else the body's hash), as a FHIR
server's Subscription or an interface engine would send it; each DICOM Part 10 file a "dicom-file" event;
each DICOM JSON document a "dicom-json" event; each STL / PLY file a "mesh-file" event whose content type names
the file and the case it belongs to (`model/stl; name="upper.stl"; encounter="Encounter/e1"`), as the
contract asks of a file with no patient data (it joins the one case given with it).

`sign` makes Standard Webhooks 1.0 headers (HMAC-SHA256 over "id.timestamp.body", base64, "v1,<sig>").
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path

from plugin import resources as fr
from plugin.evidence.files import _walk, sniff
from plugin.store.events import EventIn

MESH_TYPES = {".stl": "model/stl", ".ply": "model/ply"}
NOT_EVIDENCE = frozenset({"expected.json"})  # a test case's answer file, not something a clinical system sends


def folder_events(folder: str | Path, source: str = "cli") -> list[EventIn]:
    """The events for every file under `folder`, in a stable order (callers shuffle / repeat as they like)."""
    folder = Path(folder)
    files = _walk(folder) if folder.is_dir() else [folder]
    events: list[EventIn] = []
    resources: list[dict] = []
    meshes: list[Path] = []
    for path in files:
        if path.name in NOT_EVIDENCE:
            continue
        kind = sniff(path)
        body = path.read_bytes()
        if kind == "dicom":
            events.append(EventIn(source, "dicom-file", _hash_key(body), "application/dicom", body))
        elif kind == "json":
            data = json.loads(body)
            if _is_dicom_json(data):
                events.append(EventIn(source, "dicom-json", _hash_key(body), "application/dicom+json", body))
            else:
                found = list(_resources(data))
                resources += found
                events += [fhir_event(r, source) for r in found]
        elif kind == "mesh":
            meshes.append(path)
    hint = _case_hint(resources)
    for path in meshes:
        body = path.read_bytes()
        ctype = f'{MESH_TYPES.get(path.suffix.lower(), "model/stl")}; name="{path.name}"{hint}'
        events.append(EventIn(source, "mesh-file", _hash_key(body), ctype, body))
    return events


def fhir_event(resource: dict, source: str = "cli") -> EventIn:
    body = json.dumps(resource, sort_keys=True).encode()
    version = (resource.get("meta") or {}).get("versionId")
    key = f"{resource['resourceType']}/{resource['id']}/_history/{version}" if version and resource.get("id") else _hash_key(body)
    return EventIn(source, "fhir", key, "application/fhir+json", body)


def _resources(data) -> list[dict]:
    """The resources of a Bundle (one level; fullUrl references resolved to Type/id), or the resource itself."""
    if isinstance(data, list):
        return [r for item in data for r in _resources(item)]
    if not isinstance(data, dict):
        return []
    if data.get("resourceType") != "Bundle":
        return [data]
    entries = [e for e in data.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    urls = {e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource'].get('id', '')}" for e in entries
            if e.get("fullUrl") and e["resource"].get("id")}
    return [_rewrite(e["resource"], urls) for e in entries]


def _rewrite(node, urls: dict[str, str]):
    """Bundle-local references (urn:uuid fullUrls) become Type/id, as a server does when it stores them."""
    if isinstance(node, dict):
        return {k: (urls.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite(v, urls)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite(v, urls) for v in node]
    return node


def _case_hint(resources: list[dict]) -> str:
    encounters = sorted({f"Encounter/{r['id']}" for r in resources if r.get("resourceType") == "Encounter" and r.get("id")})
    if len(encounters) == 1:
        return f'; encounter="{encounters[0]}"'
    patients = sorted({f"Patient/{r['id']}" for r in resources if r.get("resourceType") == "Patient" and r.get("id")})
    if not patients:
        patients = sorted({fr.subject_ref(r) for r in resources if fr.subject_ref(r).startswith("Patient/")})
    return f'; patient="{patients[0]}"' if len(patients) == 1 else ""


def _is_dicom_json(data) -> bool:
    from plugin.evidence.dicom import looks_like_dicom_json

    return looks_like_dicom_json(data)


def _hash_key(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


# ------------------------------------------------------------------------------------ Standard Webhooks
def new_secret() -> str:
    return "whsec_" + base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()


def sign(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Standard Webhooks 1.0 headers for `body`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    sig = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": f"v1,{sig}"}


# ------------------------------------------------------------------------------------ FHIR notifications
def notification(resource: dict, subscription_id: str, number: int, topic: str = "https://dwcoder.org/topic/clinical-evidence") -> dict:
    """An R4B Subscriptions Backport `history` Bundle (full-resource) carrying one event about `resource`."""
    ref = f"{resource['resourceType']}/{resource['id']}"
    status = {
        "resourceType": "SubscriptionStatus", "status": "active", "type": "event-notification",
        "eventsSinceSubscriptionStart": str(number),
        "notificationEvent": [{"eventNumber": str(number), "focus": {"reference": ref}}],
        "subscription": {"reference": f"Subscription/{subscription_id}"}, "topic": topic,
    }
    return {"resourceType": "Bundle", "type": "history", "timestamp": "2026-12-01T00:00:00Z",
            "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": status,
                       "request": {"method": "GET", "url": f"Subscription/{subscription_id}/$status"},
                       "response": {"status": "200"}},
                      {"fullUrl": f"https://ehr.example/fhir/{ref}", "resource": resource,
                       "request": {"method": "PUT", "url": ref}, "response": {"status": "200"}}]}


def folder_resources(folder: str | Path) -> list[dict]:
    """The FHIR resources under `folder` (Bundles opened, Bundle-local references made Type/id)."""
    out: list[dict] = []
    folder = Path(folder)
    for path in (_walk(folder) if folder.is_dir() else [folder]):
        if path.name not in NOT_EVIDENCE and sniff(path) == "json":
            data = json.loads(path.read_bytes())
            if not _is_dicom_json(data):
                out += _resources(data)
    return out
