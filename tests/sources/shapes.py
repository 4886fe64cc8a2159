"""Notification bodies in the shapes of the Subscriptions Backport IG (R4 Parameters-led, R4B
SubscriptionStatus-led history Bundles) and R5 subscription-notification Bundles, built for these tests.
"""
from __future__ import annotations

BASE = "https://ehr.example.org/fhir"


def procedure(pid: str = "p1", version: str | None = "3", patient: str = "Patient/pt1") -> dict:
    res = {"resourceType": "Procedure", "id": pid, "status": "completed", "subject": {"reference": patient},
           "code": {"text": "cone beam CT"}}
    if version:
        res["meta"] = {"versionId": version}
    return res


def r4(kind: str, sub: str = "admission", count: int | None = 1, events: list[dict] | None = None,
       resources: list[dict] = (), bare: list[str] = ()) -> dict:
    """R4 backport: a history Bundle led by a Parameters."""
    params = [{"name": "subscription", "valueReference": {"reference": f"{BASE}/Subscription/{sub}"}},
              {"name": "topic", "valueCanonical": "http://example.org/topic/procedure-done"},
              {"name": "status", "valueCode": "active"}, {"name": "type", "valueCode": kind}]
    if count is not None:
        params.append({"name": "events-since-subscription-start", "valueString": str(count)})
    for event in events or []:
        parts = [{"name": "event-number", "valueString": str(event["n"])},
                 {"name": "timestamp", "valueInstant": "2026-03-02T10:00:00Z"}]
        parts += [{"name": "focus", "valueReference": {"reference": ref}} for ref in event.get("focus", [])]
        parts += [{"name": "additional-context", "valueReference": {"reference": ref}} for ref in event.get("context", [])]
        params.append({"name": "notification-event", "part": parts})
    status = {"resourceType": "Parameters", "id": "st1", "parameter": params}
    return _bundle("history", status, resources, bare)


def r4b(kind: str, sub: str = "admission", count: int | None = 1, events: list[dict] | None = None,
        resources: list[dict] = (), bare: list[str] = (), bundle_type: str = "history") -> dict:
    """R4B backport (history) or R5 (subscription-notification): led by a SubscriptionStatus."""
    status = {"resourceType": "SubscriptionStatus", "id": "st1", "status": "active", "type": kind,
              "subscription": {"reference": f"{BASE}/Subscription/{sub}"},
              "topic": "http://example.org/topic/procedure-done"}
    if count is not None:
        status["eventsSinceSubscriptionStart"] = str(count)
    notification_events = []
    for event in events or []:
        item = {"eventNumber": str(event["n"]), "timestamp": "2026-03-02T10:00:00Z"}
        if event.get("focus"):
            item["focus"] = {"reference": event["focus"][0]}
        if event.get("context"):
            item["additionalContext"] = [{"reference": ref} for ref in event["context"]]
        notification_events.append(item)
    if notification_events:
        status["notificationEvent"] = notification_events
    return _bundle(bundle_type, status, resources, bare)


def r5(kind: str, **kw) -> dict:
    return r4b(kind, bundle_type="subscription-notification", **kw)


SHAPES = {"R4": r4, "R4B": r4b, "R5": r5}


def _bundle(btype: str, status: dict, resources, bare) -> dict:
    entries = [{"fullUrl": "urn:uuid:0f0e0d0c-0000-4000-8000-000000000001", "resource": status}]
    for res in resources:
        entries.append({"fullUrl": f"{BASE}/{res['resourceType']}/{res['id']}", "resource": res,
                        "request": {"method": "PUT", "url": f"{res['resourceType']}/{res['id']}"},
                        "response": {"status": "200"}})
    for url in bare:
        entries.append({"fullUrl": url, "request": {"method": "PUT", "url": url.rsplit("/", 2)[-2] + "/" + url.rsplit("/", 1)[-1]},
                        "response": {"status": "200"}})
    return {"resourceType": "Bundle", "id": "n1", "type": btype, "timestamp": "2026-03-02T10:00:01Z", "entry": entries}
