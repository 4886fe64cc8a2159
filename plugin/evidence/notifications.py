"""Subscription notifications: which form a notification is, and what must be fetched before it can be coded.

Three shapes carry the same status (R5 SubscriptionStatus; Subscriptions R5 Backport IG):
  R5 / R4B   Bundle `subscription-notification` (R5) or `history` (R4B backport), first entry SubscriptionStatus
  R4         Bundle `history`, first entry a Parameters with parts `subscription`, `topic`, `status`, `type`,
             `events-since-subscription-start`, `notification-event` (`event-number`, `focus`,
             `additional-context`) and `error`
A `$status` answer is a `searchset` Bundle of such status resources.

Forms: `handshake`, `heartbeat`, `query-status` (with status `error`: `error`), and for `event-notification` /
`query-event` the content: `full-resource` (every focus is in the Bundle), `id-only` (a focus or context
resource is only named: in the status's notification-event, or as an entry with a fullUrl/request and no
resource) or `empty` (no focus at all: the events must be asked for with the Subscription's `$events` operation).
"""
from __future__ import annotations

import re
from typing import Any

from plugin.evidence.model import Notification

EVENT_TYPES = frozenset({"event-notification", "query-event"})
_TYPE_ID = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")


def is_status(resource: Any) -> bool:
    """A SubscriptionStatus, or the Backport IG's R4 Parameters form of it."""
    if not isinstance(resource, dict):
        return False
    if resource.get("resourceType") == "SubscriptionStatus":
        return True
    if resource.get("resourceType") != "Parameters":
        return False
    names = {p.get("name") for p in resource.get("parameter") or [] if isinstance(p, dict)}
    return "subscription" in names and bool(names & {"type", "status"})


def is_notification(bundle: dict) -> bool:
    kind = bundle.get("type")
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
    first = entries[0].get("resource") if entries else None
    if kind == "subscription-notification":
        return True
    if kind == "history":
        return is_status(first)
    return kind == "searchset" and bool(entries) and all(is_status(e.get("resource")) for e in entries)


def describe(source: str, status: dict, included: list[tuple[str, str]], bare: list[dict]) -> Notification:
    """The Notification for a status resource, the resources the Bundle carries ((fullUrl, "Type/id") pairs) and
    the entries that only name one (fullUrl / request, no resource)."""
    fields = _fields(status)
    kind, state = fields["type"], fields["status"]
    events = fields["events"]
    have = {_relative(u) for pair in included for u in pair} | {u for u, _ in included}
    named: list[str] = []
    for event in events:
        named += [event["focus"], *event["context"]]
    named += [_entry_ref(e) for e in bare]
    needed = [r for r in dict.fromkeys(_relative(n) or n for n in named if n) if r not in have and _TYPE_ID.match(r)]
    numbers = tuple(n for n in (e["number"] for e in events) if n is not None)
    subscription = _relative(fields["subscription"])
    if kind in EVENT_TYPES or (not kind and (events or included or bare)):
        if needed:
            form = "id-only"
        elif included or any(e["focus"] for e in events) or bare:
            form = "full-resource"
        else:
            form = "empty"
            needed = _events_request(subscription, numbers, fields["since"])
    else:
        form = "error" if state == "error" else (kind or "unknown")
    return Notification(source=source, form=form, type=kind, status=state, subscription=subscription,
                        topic=fields["topic"], events_since_start=fields["since"], event_numbers=numbers,
                        to_fetch=tuple(needed), error=fields["error"])


def _events_request(subscription: str, numbers: tuple[int, ...], since: int | None) -> list[str]:
    """The `$events` request (R5; Backport IG OperationDefinition backport-subscription-events) for the events an
    empty notification announces; the whole history up to `since` when it numbers none."""
    if not subscription.startswith("Subscription/"):
        return []
    if numbers:
        low, high = min(numbers), max(numbers)
    elif since is not None:
        low, high = since, since
    else:
        return []
    return [f"{subscription}/$events?eventsSinceNumber={low}&eventsUntilNumber={high}&content=full-resource"]


# ------------------------------------------------------------------------------------------ the two shapes
def _fields(status: dict) -> dict[str, Any]:
    if status.get("resourceType") == "Parameters":
        return _from_parameters(status)
    events = []
    for event in _dicts(status.get("notificationEvent")):
        events.append({"number": _int(event.get("eventNumber")), "focus": _ref(event.get("focus")),
                       "context": [_ref(c) for c in _dicts(event.get("additionalContext"))]})
    return {"type": _str(status.get("type")), "status": _str(status.get("status")),
            "subscription": _ref(status.get("subscription")), "topic": _str(status.get("topic")),
            "since": _int(status.get("eventsSinceSubscriptionStart")), "events": events,
            "error": _error_code(_dicts(status.get("error")))}


def _from_parameters(params: dict) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "", "status": "", "subscription": "", "topic": "", "since": None, "events": [], "error": ""}
    errors = []
    for p in _dicts(params.get("parameter")):
        name = p.get("name")
        if name == "subscription":
            out["subscription"] = _ref(p.get("valueReference")) or _str(p.get("valueString") or p.get("valueUri"))
        elif name == "topic":
            out["topic"] = _str(p.get("valueCanonical") or p.get("valueUri") or p.get("valueString"))
        elif name in ("status", "type"):
            out[name] = _str(p.get("valueCode"))
        elif name == "events-since-subscription-start":
            out["since"] = _int(_value(p))
        elif name == "notification-event":
            out["events"].append(_event_parts(_dicts(p.get("part"))))
        elif name == "error":
            errors.append(p.get("valueCodeableConcept"))
    out["error"] = _error_code(_dicts(errors))
    return out


def _event_parts(parts: list[dict]) -> dict[str, Any]:
    event: dict[str, Any] = {"number": None, "focus": "", "context": []}
    for part in parts:
        if part.get("name") == "event-number":
            event["number"] = _int(_value(part))
        elif part.get("name") == "focus":
            event["focus"] = _ref(part.get("valueReference"))
        elif part.get("name") == "additional-context":
            event["context"].append(_ref(part.get("valueReference")))
    return event


# ------------------------------------------------------------------------------------------ small readers
def _value(part: dict) -> Any:
    return next((v for k, v in part.items() if k.startswith("value")), None)


def _dicts(value: Any) -> list[dict]:
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.strip().isdigit() else None


def _ref(value: Any) -> str:
    return _str(value.get("reference")) if isinstance(value, dict) else ""


def _error_code(concepts: list[dict]) -> str:
    for concept in concepts:
        for coding in _dicts(concept.get("coding")):
            if isinstance(coding.get("code"), str):
                return coding["code"]
    return ""


def _entry_ref(entry: dict) -> str:
    """What an entry without a resource names: its request URL when that is a plain "Type/id", else its fullUrl."""
    url = _str((entry.get("request") or {}).get("url")) if isinstance(entry.get("request"), dict) else ""
    relative = _relative(url)
    return relative if _TYPE_ID.match(relative) else _str(entry.get("fullUrl"))


def _relative(ref: str) -> str:
    """"Type/id" of a relative or absolute reference (version and query dropped); "" for urn:uuid or anything else."""
    if not ref or ref.startswith(("urn:", "#")) or "?" in ref:
        return ""
    ref = re.sub(r"/_history/[^/]+/?$", "", ref.rstrip("/"))
    parts = ref.split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 and _TYPE_ID.match("/".join(parts[-2:])) else ""
