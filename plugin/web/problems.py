"""Every refusal becomes an OperationOutcome here, and only here.

    SourceRefused       its own status and issue code (400, 401, 413, 415, 422, 429 + Retry-After)
    StoreUnavailable    503 + Retry-After: the database could not take the event, the sender retries
    HTTPException       404 / 405 from the router
    anything else       500 "exception"; middleware.py logs its class name only, no message echoed
Diagnostics never hold payload values: the messages are written that way where they are raised.
"""
from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from plugin.errors import SourceRefused, StoreUnavailable

FHIR_JSON = "application/fhir+json"
STORE_RETRY_AFTER_S = 5
_HTTP_CODES = {404: "not-found", 405: "not-supported"}


def outcome(status: int, code: str, message: str, expression: str = "", severity: str = "error",
            headers: dict[str, str] | None = None) -> Response:
    issue = {"severity": severity, "code": code, "diagnostics": message}
    if expression:
        issue["expression"] = [expression]
    body = json.dumps({"resourceType": "OperationOutcome", "issue": [issue]}).encode()
    return Response(body, status_code=status, media_type=FHIR_JSON, headers=headers)


async def refused(request: Request, exc: SourceRefused) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return outcome(exc.status, exc.code, str(exc), exc.expression, headers=headers)


async def store_unavailable(request: Request, exc: StoreUnavailable) -> Response:
    return outcome(503, "transient", "the event store is unavailable; nothing was stored, retry later",
                   headers={"Retry-After": str(STORE_RETRY_AFTER_S)})


async def http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 404:
        message = "no such route (see /openapi.json)"
    elif exc.status_code == 405:
        message = "method not allowed on this route (see /openapi.json)"
    else:
        message = "request refused"
    return outcome(exc.status_code, _HTTP_CODES.get(exc.status_code, "processing"), message, headers=exc.headers)


def internal_error() -> Response:
    return outcome(500, "exception", "internal error; nothing was stored for this request unless it was answered 2xx")


async def unexpected(request: Request, exc: Exception) -> Response:
    return internal_error()  # Starlette sends it, then re-raises: middleware.py logs the class name only


async def sign_in_required(request: Request, exc) -> Response:
    """issue 9: a browser page goes to the sign-in page and back; htmx is told where (HX-Redirect); the API gets 401."""
    from starlette.responses import RedirectResponse

    from plugin.web.auth.access import login_url

    target = login_url(request)
    if request.headers.get("hx-request"):
        return outcome(401, exc.code, str(exc), headers={"HX-Redirect": target})
    if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    return outcome(401, exc.code, str(exc))


def _more_handlers() -> dict:
    from plugin.web.auth.refusals import SignInRequired

    return {SignInRequired: sign_in_required}


HANDLERS = {SourceRefused: refused, StoreUnavailable: store_unavailable, HTTPException: http_error, Exception: unexpected}
HANDLERS.update(_more_handlers())  # issue 9
