"""POST /webhooks/{source}: Standard Webhooks 1.0 from systems without FHIR Subscriptions.

Order of checks (nothing is stored for a refusal): configured source (401), rate (429), media type (415),
size while streaming (413), signature over the raw bytes with every active secret and the timestamp
tolerance (401), the body itself (400 / 422). `webhook-id` is the idempotency key: a replay is answered
200 and not queued again.
"""
from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse

from plugin.errors import SourceRefused
from plugin.sources import bodies, webhooks
from plugin.store.events import EventIn
from plugin.web.body import read_limited
from plugin.web.intake import answer, store_and_queue
from plugin.web.middleware import correlation_id


async def receive_webhook(request: Request) -> JSONResponse:
    service = request.app.state.service
    name = request.path_params["source"]
    source = service.sources.webhooks.get(name)
    if source is None:
        raise SourceRefused(401, "security", "unknown webhook source: not configured in WEBHOOK_SOURCES")
    service.limiter.take(f"webhook:{name}", source.limits.rate_per_s, source.limits.burst, time.monotonic())
    mtype = bodies.file_media_type(request.headers.get("content-type"), request.headers.get("content-disposition"))
    bodies.check_media_type(mtype)
    raw = await read_limited(request, source.limits.max_body_bytes)
    msg_id = webhooks.verify(request.headers, raw, source.keys, service.clock(), service.sources.tolerance_s)
    body = bodies.webhook_body(mtype, raw)
    cid = correlation_id(request.scope)
    ctype = bodies.with_file_params(body, request.headers.get("content-type"), request.headers.get("content-disposition"))
    event = EventIn(f"webhook:{name}", body.kind, f"webhook:{name}:{msg_id}", ctype, raw, cid)
    status, payload = answer(await store_and_queue(service, [event]), cid)
    return JSONResponse(payload, status_code=status)
