"""POST /pacs/{name}/stable-study: a PACS says a study is complete (Orthanc: deploy/orthanc/notify.lua).

Signed like any webhook (Standard Webhooks 1.0, with the PACS's `secrets` from the PACS setting); the body names
the study ({"study": uid, "version": v, "aet": calling AE}). Stored as a "pacs-study" event deduplicated by PACS +
study + version (the reconciler uses the same key), then the worker fetches the headers over DICOMweb.
"""
from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse

from plugin.errors import SourceRefused
from plugin.sources import pacs, webhooks
from plugin.store.events import EventIn
from plugin.web.body import read_limited
from plugin.web.intake import answer, store_and_queue
from plugin.web.middleware import correlation_id

MAX_NOTIFICATION_BYTES = 16 * 1024


async def receive_pacs_study(request: Request) -> JSONResponse:
    service = request.app.state.service
    name = request.path_params["name"]
    config = (getattr(service.settings, "pacs", None) or {}).get(name)
    if config is None or not config.secrets:
        raise SourceRefused(401, "security", "unknown PACS: not configured in PACS (with \"secrets\")")
    service.limiter.take(f"pacs:{name}", 50.0, 100, time.monotonic())
    mtype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if mtype not in ("application/json", ""):
        raise SourceRefused(415, "not-supported", "a stable-study notification is application/json")
    raw = await read_limited(request, MAX_NOTIFICATION_BYTES)
    webhooks.verify(request.headers, raw, pacs.keys_of(config), service.clock(), service.sources.tolerance_s)
    study, version, aet = pacs.notification(raw)
    cid = correlation_id(request.scope)
    event = EventIn(f"pacs:{name}", "pacs-study", pacs.study_key(name, study, version), "application/json",
                    pacs.event_body(name, study, version, aet), cid)
    status, payload = answer(await store_and_queue(service, [event]), cid)
    return JSONResponse(payload, status_code=status)
