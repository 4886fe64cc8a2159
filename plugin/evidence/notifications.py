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

This is the one reader of a status resource (`read_status`: its fields as given, with where each stands): the
evidence reader names the form here (`describe`, lenient), and the subscription endpoint
(plugin.sources.notifications) checks the same fields and refuses what it cannot take.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from plugin.evidence.model import Notification

EVENT_TYPES = frozenset({"event-notification", "query-event"})
NOTIFICATION_BUNDLES = frozenset({"history", "subscription-notification"})
NUMBER_KEYS = ("valueString", "valueInteger64", "valueInteger", "valueUnsignedInt", "valuePositiveInt", "valueDecimal")
_TYPE_ID = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")


def is_status(resource: Any) -> bool:
    """A SubscriptionStatus, or the Backport IG's R4 Parameters form of it (a Parameters naming a subscription)."""
    if not isinstance(resource, dict):
        return False
    if resource.get("resourceType") == "SubscriptionStatus":
        return True
    return resource.get("resourceType") == "Parameters" and any(
        isinstance(p, dict) and p.get("name") == "subscription" for p in resource.get("parameter") or [])


def lead_status(data: Any) -> dict | None:
    """The status resource leading a notification Bundle (`history` or `subscription-notification`), else None."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle" or data.get("type") not in NOTIFICATION_BUNDLES:
        return None
    entries = data.get("entry") or []
    first = entries[0].get("resource") if isinstance(entries, list) and entries and isinstance(entries[0], dict) else None
    return first if is_status(first) else None


def is_notification(bundle: dict) -> bool:
    kind = bundle.get("type")
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
    if kind == "subscription-notification" or lead_status(bundle) is not None:
        return True
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
@dataclass(frozen=True)
class StatusEvent:
    number: Any = None  # the event number as given (each reader checks it its own way)
    number_at: str = ""  # where it stands (a FHIRPath-like place, for messages)
    timestamp: str = ""
    focus: str = ""
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class Status:
    """A status resource's fields as given ("" / None when absent), with where the checked ones stand."""

    type: Any = None
    type_at: str = ""
    status: str = ""
    subscription: str = ""  # the reference (or URL) as given
    subscription_at: str = ""
    topic: str = ""
    since: Any = None  # eventsSinceSubscriptionStart as given
    since_at: str = ""
    events: tuple[StatusEvent, ...] = ()
    error: str = ""


def read_status(status: dict, where: str = "Bundle.entry[0].resource") -> Status:
    """The fields of a SubscriptionStatus (R4B / R5) or of the R4 backport Parameters."""
    if status.get("resourceType") == "Parameters":
        return _from_parameters(status, f"{where}(Parameters)")
    at = f"{where}(SubscriptionStatus)"
    events = []
    for index, event in _indexed(status.get("notificationEvent")):
        events.append(StatusEvent(event.get("eventNumber"), f"{at}.notificationEvent[{index}].eventNumber",
                                  _str(event.get("timestamp")), _ref(event.get("focus")),
                                  _refs(_dicts(event.get("additionalContext")))))
    return Status(type=status.get("type"), type_at=f"{at}.type", status=_str(status.get("status")),
                  subscription=_ref(status.get("subscription")), subscription_at=f"{at}.subscription",
                  topic=_str(status.get("topic")), since=status.get("eventsSinceSubscriptionStart"),
                  since_at=f"{at}.eventsSinceSubscriptionStart", events=tuple(events),
                  error=_error_code(_dicts(status.get("error"))))


def _from_parameters(params: dict, at: str) -> Status:
    """R4 backport Parameters (backport-subscription-status-r4); a parameter given twice: the first counts."""
    named: dict[str, dict] = {}
    events, errors = [], []
    for index, p in _indexed(params.get("parameter")):
        if p.get("name") == "notification-event":
            events.append(_event_parts(_dicts(p.get("part")), f"{at}.parameter[{index}]"))
        elif p.get("name") == "error":
            errors.append(p.get("valueCodeableConcept"))
        else:
            named.setdefault(p.get("name"), p)
    subscription = named.get("subscription") or {}
    return Status(type=_code(named.get("type")), type_at=f"{at}.parameter('type')", status=_str(_code(named.get("status"))),
                  subscription=_ref(subscription.get("valueReference")) or _str(
                      subscription.get("valueString") or subscription.get("valueUri") or subscription.get("valueCanonical")),
                  subscription_at=f"{at}.parameter('subscription')", topic=_topic(named.get("topic") or {}),
                  since=_number_value(named.get("events-since-subscription-start")),
                  since_at=f"{at}.parameter('events-since-subscription-start')", events=tuple(events),
                  error=_error_code(_dicts(errors)))


def _event_parts(parts: list[dict], at: str) -> StatusEvent:
    number, stamp, focus, context = None, "", "", []
    for part in parts:
        name = part.get("name")
        if name == "event-number":
            number = _number_value(part)
        elif name == "timestamp":
            stamp = _str(part.get("valueInstant") or part.get("valueDateTime"))
        elif name == "focus" and not focus:
            focus = _ref(part.get("valueReference"))
        elif name == "additional-context":
            context.append(_ref(part.get("valueReference")))
    return StatusEvent(number, f"{at}.part('event-number')", stamp, focus, tuple(r for r in context if r))


def _fields(status: dict) -> dict[str, Any]:
    """The lenient reading `describe` uses: what is not a string or a whole number is absent."""
    read = read_status(status)
    events = [{"number": _int(e.number), "focus": e.focus, "context": list(e.context)} for e in read.events]
    return {"type": _str(read.type), "status": read.status, "subscription": read.subscription, "topic": read.topic,
            "since": _int(read.since), "events": events, "error": read.error}


# ------------------------------------------------------------------------------------------ small readers
def _number_value(param: dict | None) -> Any:
    return next((param[k] for k in NUMBER_KEYS if k in param), None) if isinstance(param, dict) else None


def _code(param: dict | None) -> Any:
    return (param or {}).get("valueCode") or (param or {}).get("valueString") or ""


def _topic(param: dict) -> str:
    return _str(param.get("valueCanonical") or param.get("valueUri") or param.get("valueString"))


def _indexed(value: Any) -> list[tuple[int, dict]]:
    """The objects of a list (or one object) with their places in it."""
    items = value if isinstance(value, list) else [value]
    return [(n, v) for n, v in enumerate(items) if isinstance(v, dict)]


def _refs(values: list[dict]) -> tuple[str, ...]:
    return tuple(r for r in (_ref(v) for v in values) if r)


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
