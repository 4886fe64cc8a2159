"""Small FHIR builders for tests: a practice, its people and devices, an encounter, procedures."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

NPI = "http://hl7.org/fhir/sid/us-npi"
PRACTICE_NPI = "1234567893"
PRACTICE = f"{NPI}|{PRACTICE_NPI}"
WF = "https://dwcoder.org/fhir/CodeSystem/workflow-step"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def practice(org_id: str = "prac") -> list[dict]:
    return [
        {"resourceType": "Organization", "id": org_id, "identifier": [{"system": NPI, "value": PRACTICE_NPI}], "name": "Test OMS"},
        {"resourceType": "Practitioner", "id": "dr"},
        {"resourceType": "PractitionerRole", "id": "dr-role", "practitioner": {"reference": "Practitioner/dr"}, "organization": {"reference": f"Organization/{org_id}"}},
    ]


def outside(org_id: str = "lab", person: str = "ext") -> list[dict]:
    return [
        {"resourceType": "Organization", "id": org_id, "name": f"Outside {org_id}"},
        {"resourceType": "Practitioner", "id": person},
        {"resourceType": "PractitionerRole", "id": f"{person}-role", "practitioner": {"reference": f"Practitioner/{person}"}, "organization": {"reference": f"Organization/{org_id}"}},
    ]


def patient(pid: str = "pt", mrn: str = "MRN-1", system: str = "urn:mrn") -> dict:
    return {"resourceType": "Patient", "id": pid, "identifier": [{"system": system, "value": mrn}]}


def encounter(eid: str = "enc", kind: str = "established-patient", cls: str = "AMB", minutes: int | None = None,
              day: str = "2026-05-04", pid: str = "pt", provider: str = "prac") -> dict:
    res: dict[str, Any] = {"resourceType": "Encounter", "id": eid, "status": "finished", "class": {"system": ACT, "code": cls},
                           "subject": {"reference": f"Patient/{pid}"}, "serviceProvider": {"reference": f"Organization/{provider}"},
                           "type": [{"coding": [{"system": WF, "code": kind}]}],
                           "period": {"start": f"{day}T09:00:00Z", "end": f"{day}T10:00:00Z"}}
    if minutes is not None:
        res["length"] = {"value": minutes, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"}
    return res


def device(did: str, serial: str, name: str, owner: str = "prac") -> dict:
    return {"resourceType": "Device", "id": did, "serialNumber": serial, "deviceName": [{"name": name, "type": "model-name"}],
            "owner": {"reference": f"Organization/{owner}"}}


def procedure(pid: str, code: str, actor: str = "Practitioner/dr", system: str = WF, eid: str = "enc",
              device: str = "", note: str = "", day: str = "2026-05-04", status: str = "completed",
              patient: str = "pt") -> dict:
    res: dict[str, Any] = {"resourceType": "Procedure", "id": pid, "status": status, "subject": {"reference": f"Patient/{patient}"},
                           "encounter": {"reference": f"Encounter/{eid}"}, "code": {"coding": [{"system": system, "code": code}]},
                           "performedDateTime": f"{day}T10:00:00Z", "performer": [{"actor": {"reference": actor}}]}
    if not eid:
        del res["encounter"]
    if device:
        res["usedReference"] = [{"reference": device}]
    if note:
        res["note"] = [{"text": note}]
    return res


def bundle(*resources: dict, kind: str = "collection") -> dict:
    return {"resourceType": "Bundle", "type": kind,
            "entry": [{"fullUrl": f"urn:uuid:{r['resourceType']}-{r.get('id', i)}", "resource": r} for i, r in enumerate(resources)]}


def write(folder: Path, name: str, data: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(data, indent=1))
    return path


# ------------------------------------------------------------------------------------------ notifications
SERVER = "https://ehr.test/fhir"


def status_r5(kind: str = "event-notification", events: list[dict] | None = None, state: str = "active",
              since: str = "7", sub: str = "sub-1") -> dict:
    res: dict[str, Any] = {"resourceType": "SubscriptionStatus", "id": f"st-{kind}", "status": state, "type": kind,
                           "eventsSinceSubscriptionStart": since, "subscription": {"reference": f"{SERVER}/Subscription/{sub}"},
                           "topic": "https://ehr.test/topics/procedure-done"}
    if events:
        res["notificationEvent"] = events
    if state == "error":
        res["error"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscription-error", "code": "no-response"}]}]
    return res


def event_r5(number: int, focus: str = "", context: tuple[str, ...] = ()) -> dict:
    event: dict[str, Any] = {"eventNumber": str(number)}
    if focus:
        event["focus"] = {"reference": focus}
    if context:
        event["additionalContext"] = [{"reference": c} for c in context]
    return event


def status_r4(kind: str = "event-notification", events: list[list[dict]] | None = None, since: str = "7",
              sub: str = "sub-1", state: str = "active") -> dict:
    params: list[dict] = [{"name": "subscription", "valueReference": {"reference": f"{SERVER}/Subscription/{sub}"}},
                          {"name": "topic", "valueCanonical": "https://ehr.test/topics/procedure-done"},
                          {"name": "status", "valueCode": state}, {"name": "type", "valueCode": kind},
                          {"name": "events-since-subscription-start", "valueString": since}]
    params += [{"name": "notification-event", "part": parts} for parts in events or []]
    return {"resourceType": "Parameters", "id": f"st4-{kind}", "parameter": params}


def event_r4(number: int, focus: str = "", context: tuple[str, ...] = ()) -> list[dict]:
    parts: list[dict] = [{"name": "event-number", "valueString": str(number)}]
    if focus:
        parts.append({"name": "focus", "valueReference": {"reference": focus}})
    parts += [{"name": "additional-context", "valueReference": {"reference": c}} for c in context]
    return parts


def notification(status: dict, *entries: dict, kind: str = "history") -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"fullUrl": "urn:uuid:0000-status", "resource": status}, *entries]}
