"""Operations routes (issue 11): GET /readyz and GET /metrics. (GET /healthz, liveness, is in status.py.)

/readyz runs plugin.readiness's checks (database, Redis, FHIR server; each with a short timeout) and answers 200
when all are up, else 503 naming what is down by its error class: never a URL, host or secret. `?ignore=fhir`
(a comma list) reports a check without failing on it: the api's Kubernetes readiness probe uses it, so a FHIR
server down for hours does not stop the intake of webhooks (they wait in the database; docs/runbook.md).
"""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plugin import readiness


async def readyz(request: Request) -> JSONResponse:
    service = request.app.state.service
    ignore = tuple(x.strip() for x in request.query_params.get("ignore", "").split(",") if x.strip() in readiness.CHECKS)
    results = await run_in_threadpool(readiness.check_all, service.settings, service.store)
    ok = readiness.ready(results, ignore)
    body = {"status": "ready" if ok else "unready", "checks": results}
    if ignore:
        body["ignored"] = list(ignore)
    return JSONResponse(body, status_code=200 if ok else 503)


async def metrics(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    from plugin.metrics import exposition

    service = request.app.state.service
    return Response(await run_in_threadpool(exposition, service.settings, service.store), media_type=CONTENT_TYPE_LATEST)
