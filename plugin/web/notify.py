"""POST /subscriptions/{subscription_id}: FHIR Subscription rest-hook notifications (R4/R4B backport, R5),
or a plain resource / Bundle that a server sends instead.

Order of checks (the first that fails answers; nothing is stored for a refusal): configured subscription
(401), its channel header (401), rate (429), media type (415), size (413), JSON (400), FHIR (422), the
notification's own subscription (422), id-only references on the FHIR base (422). Then the events are
stored and queued (202; 200 when all were seen before); handshake, heartbeat and query-status answer 200.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import JSONResponse

from plugin.errors import SourceRefused
from plugin.sources import bodies
from plugin.sources.notifications import read_notification
from plugin.sources.subscriptions import (Seen, check_channel_header, check_subscription, notification_events,
                                          resource_event)
from plugin.store import subscriptions as state
from plugin.web.body import read_limited
from plugin.web.intake import answer, in_store, store_and_queue
from plugin.web.middleware import correlation_id

STATUS_ONLY = ("handshake", "heartbeat", "query-status")


async def receive_notification(request: Request) -> JSONResponse:
    service = request.app.state.service
    sid = request.path_params["subscription_id"]
    sub = service.sources.subscriptions.get(sid)
    if sub is None:
        raise SourceRefused(401, "security", "unknown subscription: not configured in SUBSCRIPTIONS")
    check_channel_header(sub, request.headers)
    service.limiter.take(f"subscription:{sid}", sub.limits.rate_per_s, sub.limits.burst, time.monotonic())
    if bodies.media_type(request.headers.get("content-type")) not in ("application/fhir+json", "application/json"):
        raise SourceRefused(415, "not-supported", "a notification is application/fhir+json")
    raw = await read_limited(request, sub.limits.max_body_bytes)
    data = bodies.parse_json(raw)
    bodies.check_fhir_body(data)
    note = read_notification(data)
    cid = correlation_id(request.scope)
    if note.kind == "resource":
        accepted = await store_and_queue(service, [resource_event(f"subscription:{sid}", raw, data, cid)])
        return _answer(note.kind, accepted, cid)
    check_subscription(sub, note)
    return await _notification(service, sub, note, cid)


async def _notification(service, sub, note, cid: str) -> JSONResponse:
    """Events from what the store knows of the subscription; stored, queued, then the new count noted."""
    seen = _seen(await in_store(state.get, service.store, sub.subscription_id))
    now = datetime.now(timezone.utc)
    events = notification_events(sub, note, service.sources.fhir_base_url, seen, now, cid)
    accepted = await store_and_queue(service, events)
    await in_store(_record, service.store, sub, note)
    return _answer(note.kind, accepted, cid)


def _answer(kind: str, accepted, cid: str) -> JSONResponse:
    status, body = answer(accepted, cid)
    return JSONResponse({"kind": kind, **body}, status_code=200 if kind in STATUS_ONLY else status)


def _record(store, sub, note) -> None:
    """Note the highest count seen (and the heartbeat period, for the sweeper's silence check)."""
    count = max([note.events_since_start or 0, *note.event_numbers]) or None
    record = state.record_heartbeat if note.kind in STATUS_ONLY else state.record_notification
    record(store, sub.subscription_id, count, sub.heartbeat_period_s)


def _seen(row) -> Seen | None:
    if row is None:
        return None
    stamps = [_aware(t) for t in (row.last_event_at, row.last_heartbeat_at) if t]
    return Seen(row.events_since_start or 0, max(stamps) if stamps else None, row.heartbeat_period_s)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
