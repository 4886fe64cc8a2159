"""A FHIR Subscription notification read into a Notification (no I/O, no decisions).

Shapes read (topic-based subscriptions, rest-hook):
- R4 backport: a `history` Bundle whose first entry is a Parameters (profile backport-subscription-status-r4)
  with parameters subscription, topic, status, type, events-since-subscription-start and, per event,
  notification-event { event-number, timestamp, focus, additional-context }.
- R4B backport and R5: a `history` (R4B) or `subscription-notification` (R5) Bundle led by a
  SubscriptionStatus: subscription, type, eventsSinceSubscriptionStart, notificationEvent[] { eventNumber,
  timestamp, focus, additionalContext[] }.
Notification types: handshake, heartbeat, event-notification, query-status, query-event. Anything else
(a plain resource or any other Bundle, as some servers send) is kind "resource".
Content is not declared in a notification; it shows: entries with a resource (full-resource), references
only (id-only), or neither (empty).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from plugin.errors import SourceRefused

KINDS = {"handshake": "handshake", "heartbeat": "heartbeat", "event-notification": "event",
         "query-status": "query-status", "query-event": "query-event"}
NOTIFICATION_BUNDLES = frozenset({"history", "subscription-notification"})
_NUMBER_KEYS = ("valueString", "valueInteger64", "valueInteger", "valueUnsignedInt", "valuePositiveInt", "valueDecimal")
_SUBSCRIPTION_RE = re.compile(r"(?:^|/)Subscription/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?/?$")


@dataclass(frozen=True)
class NotificationEvent:
    number: int | None
    timestamp: str = ""
    references: tuple[str, ...] = ()      # focus and additional-context, as given


@dataclass(frozen=True)
class Notification:
    kind: str                                     # handshake | heartbeat | event | query-status | query-event | resource
    subscription_id: str = ""                     # "" for a plain resource / Bundle
    status: str = ""
    events_since_start: int | None = None
    events: tuple[NotificationEvent, ...] = ()
    resources: tuple[dict, ...] = ()              # entry resources other than the status
    bare_references: tuple[str, ...] = ()         # fullUrls of entries without a resource
    data: Any = field(default=None, repr=False)   # the parsed body

    @property
    def event_numbers(self) -> tuple[int, ...]:
        return tuple(sorted(e.number for e in self.events if e.number is not None))


def read_notification(data: Any) -> Notification:
    """The notification in a parsed body; SourceRefused(422) when its status part is unreadable."""
    status = _status_resource(data)
    if status is None:
        return Notification(kind="resource", data=data)
    entries = [e for e in (data.get("entry") or [])[1:] if isinstance(e, dict)]
    resources = tuple(e["resource"] for e in entries if isinstance(e.get("resource"), dict))
    bare = tuple(e["fullUrl"] for e in entries
                 if e.get("resource") is None and isinstance(e.get("fullUrl"), str) and not e["fullUrl"].startswith("urn:"))
    read = _read_parameters if status["resourceType"] == "Parameters" else _read_status
    fields = read(status)
    return Notification(resources=resources, bare_references=bare, data=data, **fields)


def subscription_id(reference: str) -> str:
    """"admission" from ".../Subscription/admission" (or "Subscription/admission/_history/2"); "" if none."""
    match = _SUBSCRIPTION_RE.search(reference or "")
    return match[1] if match else ""


def _status_resource(data: Any) -> dict | None:
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle" or data.get("type") not in NOTIFICATION_BUNDLES:
        return None
    entries = data.get("entry") or []
    first = entries[0].get("resource") if entries and isinstance(entries[0], dict) else None
    if not isinstance(first, dict):
        return None
    if first.get("resourceType") == "SubscriptionStatus":
        return first
    if first.get("resourceType") == "Parameters" and any(
            isinstance(p, dict) and p.get("name") == "subscription" for p in first.get("parameter") or []):
        return first
    return None


def _read_status(status: dict) -> dict:
    """R4B / R5 SubscriptionStatus."""
    where = "Bundle.entry[0].resource(SubscriptionStatus)"
    events = []
    for index, item in enumerate(status.get("notificationEvent") or []):
        if not isinstance(item, dict):
            continue
        refs = [_ref(item.get("focus"))] + [_ref(r) for r in item.get("additionalContext") or []]
        events.append(NotificationEvent(
            number=_number(item.get("eventNumber"), f"{where}.notificationEvent[{index}].eventNumber"),
            timestamp=str(item.get("timestamp") or ""), references=tuple(r for r in refs if r)))
    return dict(
        kind=_kind(status.get("type"), f"{where}.type"),
        subscription_id=_subscription(_ref(status.get("subscription")), f"{where}.subscription"),
        status=str(status.get("status") or ""),
        events_since_start=_number(status.get("eventsSinceSubscriptionStart"), f"{where}.eventsSinceSubscriptionStart"),
        events=tuple(events),
    )


def _read_parameters(status: dict) -> dict:
    """R4 backport Parameters (backport-subscription-status-r4)."""
    where = "Bundle.entry[0].resource(Parameters)"
    named: dict[str, Any] = {}
    events = []
    for index, param in enumerate(status.get("parameter") or []):
        if not isinstance(param, dict):
            continue
        if param.get("name") == "notification-event":
            events.append(_parameters_event(param, f"{where}.parameter[{index}]"))
        else:
            named.setdefault(param.get("name"), param)
    subscription = named.get("subscription") or {}
    reference = _ref(subscription.get("valueReference")) or subscription.get("valueString") or \
        subscription.get("valueUri") or subscription.get("valueCanonical") or ""
    return dict(
        kind=_kind(_code(named.get("type")), f"{where}.parameter('type')"),
        subscription_id=_subscription(reference, f"{where}.parameter('subscription')"),
        status=_code(named.get("status")),
        events_since_start=_number(_value_number(named.get("events-since-subscription-start")),
                                   f"{where}.parameter('events-since-subscription-start')"),
        events=tuple(events),
    )


def _parameters_event(param: dict, where: str) -> NotificationEvent:
    number, stamp, refs = None, "", []
    for part in param.get("part") or []:
        if not isinstance(part, dict):
            continue
        name = part.get("name")
        if name == "event-number":
            number = _number(_value_number(part), f"{where}.part('event-number')")
        elif name == "timestamp":
            stamp = str(part.get("valueInstant") or part.get("valueDateTime") or "")
        elif name in ("focus", "additional-context"):
            refs.append(_ref(part.get("valueReference")))
    return NotificationEvent(number, stamp, tuple(r for r in refs if r))


def _kind(value: Any, where: str) -> str:
    if value not in KINDS:
        raise SourceRefused(422, "code-invalid", f"{where}: not a notification type "
                            "(handshake, heartbeat, event-notification, query-status, query-event)", expression=where)
    return KINDS[value]


def _subscription(reference: str, where: str) -> str:
    sid = subscription_id(reference)
    if not sid:
        raise SourceRefused(422, "required", f"{where}: no Subscription reference", expression=where)
    return sid


def _number(value: Any, where: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    raise SourceRefused(422, "value", f"{where}: not a whole number of events", expression=where)


def _value_number(param: dict | None) -> Any:
    if not isinstance(param, dict):
        return None
    return next((param[k] for k in _NUMBER_KEYS if k in param), None)


def _code(param: dict | None) -> str:
    return str((param or {}).get("valueCode") or (param or {}).get("valueString") or "")


def _ref(value: Any) -> str:
    return value.get("reference", "") if isinstance(value, dict) and isinstance(value.get("reference"), str) else ""
