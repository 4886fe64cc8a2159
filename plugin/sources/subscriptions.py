"""A Subscription notification turned into the events to store (pure: the web layer does the I/O).

    full-resource  each entry resource -> a "fhir" event, key "Type/id/_history/vid", else "<sub>#<n>/Type/id"
    id-only        the references not delivered -> one "fetch" event (JSON list of "Type/id"), key "<sub>#<n>";
                   only relative references or URLs on the configured FHIR base (else 422, nothing stored)
    empty          an event with nothing to read -> one "requery" event {"types", "since"}, key "<sub>#<n>"
    gap            eventsSinceSubscriptionStart / eventNumber past what was seen, or a heartbeat missed
                   (silence over 2 periods) -> a "requery" since the last contact, key "<sub>#gap-a-b" / "#silence-t"
Handshakes and heartbeats carry no events of their own; they may still reveal a gap.
The Subscription's `channel.header` is checked first (401 when missing or wrong).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from plugin.errors import SourceRefused
from plugin.sources.config import SubscriptionSource
from plugin.sources.notifications import Notification
from plugin.sources.references import to_relative, type_and_id
from plugin.store.events import EventIn

FHIR_JSON = "application/fhir+json"
SILENCE_PERIODS = 2


@dataclass(frozen=True)
class Seen:
    """What the store knows of a subscription (plugin/store/subscriptions.py)."""
    events_since_start: int = 0
    last_contact: datetime | None = None
    heartbeat_period_s: float | None = None


def check_channel_header(sub: SubscriptionSource, headers: Mapping[str, str]) -> None:
    """The header the Subscription sends (channel.header) must be present and equal; 401 otherwise."""
    if not sub.header_name:
        return
    offered = (headers.get(sub.header_name) or "").strip()
    if not hmac.compare_digest(offered.encode(), sub.header_value.encode()):
        raise SourceRefused(401, "security", "the header this Subscription is configured to send "
                            "(channel.header) is missing or wrong")


def check_subscription(sub: SubscriptionSource, note: Notification) -> None:
    if note.subscription_id and note.subscription_id != sub.subscription_id:
        raise SourceRefused(422, "business-rule", "the notification names another Subscription than this endpoint's",
                            expression="subscription")


def notification_events(sub: SubscriptionSource, note: Notification, base_url: str, seen: Seen | None,
                        now: datetime, correlation_id: str = "") -> list[EventIn]:
    """The events to store for one notification (checked: a foreign reference refuses the whole request)."""
    source = f"subscription:{sub.subscription_id}"
    make = _Maker(source, correlation_id)
    events = content_events(sub, note, base_url, seen, make)
    gap = gap_event(sub, note, seen, now, make)
    return events + ([gap] if gap else [])


def content_events(sub: SubscriptionSource, note: Notification, base_url: str, seen: Seen | None,
                   make: "_Maker") -> list[EventIn]:
    if note.kind not in ("event", "query-event"):
        return []
    numbers = note.event_numbers
    tag = f"{sub.subscription_id}#{','.join(map(str, numbers))}" if numbers else ""
    events = [make.resource(resource, tag) for resource in note.resources]
    delivered = {type_and_id(f"{r.get('resourceType')}/{r.get('id')}") for r in note.resources}
    wanted = [ref for e in note.events for ref in e.references] + list(note.bare_references)
    missing = list(dict.fromkeys(ref for ref in wanted if type_and_id(ref) not in delivered))
    if missing:
        if not base_url:
            raise SourceRefused(422, "not-supported", "an id-only notification needs a FHIR server to read from "
                                "(FHIR_BASE_URL is not set)")
        refs = list(dict.fromkeys(to_relative(ref, base_url) for ref in missing))
        events.append(make.event("fetch", tag, json.dumps(refs).encode(), "application/json"))
    elif not events:  # empty: nothing delivered, nothing named
        since = _iso(seen.last_contact) if seen and seen.last_contact else _earliest(note)
        body = {"types": list(sub.types), "since": since}
        events.append(make.event("requery", tag, json.dumps(body).encode(), "application/json"))
    return events


def gap_event(sub: SubscriptionSource, note: Notification, seen: Seen | None, now: datetime,
              make: "_Maker") -> EventIn | None:
    """A requery when events were missed (numbers skipped) or the subscription fell silent."""
    if note.kind == "handshake":
        return None
    seen = seen or Seen()
    since = _iso(seen.last_contact) if seen.last_contact else None
    body = json.dumps({"types": list(sub.types), "since": since}).encode()
    missed = _missed(note, seen.events_since_start)
    if missed:
        key = f"{sub.subscription_id}#gap-{missed[0]}-{missed[1]}"
        return make.event("requery", key, body, "application/json")
    period = sub.heartbeat_period_s or seen.heartbeat_period_s
    if period and seen.last_contact and now - seen.last_contact > timedelta(seconds=SILENCE_PERIODS * period):
        return make.event("requery", f"{sub.subscription_id}#silence-{since}", body, "application/json")
    return None


def _missed(note: Notification, seen_count: int) -> tuple[int, int] | None:
    """The first and last event number not received, judged from this notification; None when none."""
    numbers = note.event_numbers
    total = max([note.events_since_start or 0, *numbers])
    if numbers and numbers[0] > seen_count + 1:
        return seen_count + 1, numbers[0] - 1
    last_known = max([seen_count, *numbers])
    if total > last_known:
        return last_known + 1, total
    return None


class _Maker:
    def __init__(self, source: str, correlation_id: str) -> None:
        self.source, self.correlation_id = source, correlation_id

    def event(self, kind: str, key: str, body: bytes, content_type: str) -> EventIn:
        key = key or "sha256:" + hashlib.sha256(kind.encode() + b"\0" + body).hexdigest()
        return EventIn(self.source, kind, key, content_type, body, self.correlation_id)

    def resource(self, resource: dict, tag: str) -> EventIn:
        body = json.dumps(resource, separators=(",", ":"), ensure_ascii=False).encode()
        rid = f"{resource.get('resourceType')}/{resource.get('id')}"
        version = (resource.get("meta") or {}).get("versionId")
        if resource.get("id") and version:
            key = f"{rid}/_history/{version}"
        elif resource.get("id") and tag:
            key = f"{tag}/{rid}"
        else:
            key = "sha256:" + hashlib.sha256(body).hexdigest()
        return EventIn(self.source, "fhir", key, FHIR_JSON, body, self.correlation_id)


def resource_event(source: str, raw: bytes, data, correlation_id: str = "") -> EventIn:
    """A plain resource or Bundle body (no notification): one "fhir" event, stored as received."""
    version = (data.get("meta") or {}).get("versionId") if isinstance(data, dict) else None
    if isinstance(data, dict) and data.get("resourceType") != "Bundle" and data.get("id") and version:
        key = f"{data['resourceType']}/{data['id']}/_history/{version}"
    else:
        key = "sha256:" + hashlib.sha256(raw).hexdigest()
    return EventIn(source, "fhir", key, FHIR_JSON, raw, correlation_id)


def _earliest(note: Notification) -> str | None:
    stamps = sorted(e.timestamp for e in note.events if e.timestamp)
    return stamps[0] if stamps else None


def _iso(moment: datetime) -> str:
    return moment.isoformat()
