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

The status is read by the evidence reader's one parser (plugin.evidence.notifications.read_status); this module
adapts it for the endpoint: a type, Subscription reference or event count it cannot take is refused (422,
naming where it stands, never the value).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from plugin.errors import SourceRefused
from plugin.evidence.notifications import Status, lead_status, read_status

KINDS = {"handshake": "handshake", "heartbeat": "heartbeat", "event-notification": "event",
         "query-status": "query-status", "query-event": "query-event"}
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
    status = lead_status(data)
    if status is None:
        return Notification(kind="resource", data=data)
    entries = [e for e in (data.get("entry") or [])[1:] if isinstance(e, dict)]
    resources = tuple(e["resource"] for e in entries if isinstance(e.get("resource"), dict))
    bare = tuple(e["fullUrl"] for e in entries
                 if e.get("resource") is None and isinstance(e.get("fullUrl"), str) and not e["fullUrl"].startswith("urn:"))
    return _checked(read_status(status), resources=resources, bare_references=bare, data=data)


def subscription_id(reference: str) -> str:
    """"admission" from ".../Subscription/admission" (or "Subscription/admission/_history/2"); "" if none."""
    match = _SUBSCRIPTION_RE.search(reference or "")
    return match[1] if match else ""


def _checked(read: Status, **rest: Any) -> Notification:
    events = tuple(NotificationEvent(_number(e.number, e.number_at), e.timestamp,
                                     tuple(r for r in (e.focus, *e.context) if r)) for e in read.events)
    return Notification(kind=_kind(read.type, read.type_at),
                        subscription_id=_subscription(read.subscription, read.subscription_at),
                        status=read.status, events_since_start=_number(read.since, read.since_at), events=events, **rest)


def _kind(value: Any, where: str) -> str:
    if not isinstance(value, str) or value not in KINDS:
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
