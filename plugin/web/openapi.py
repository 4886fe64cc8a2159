"""GET /openapi.json: OpenAPI 3.1 made from the route table (routes.py), so it lists every route as served."""
from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse

OUTCOME = {"$ref": "#/components/schemas/OperationOutcome"}
_PARAM_RE = re.compile(r"\{([^}]+)\}")
# issue 9: what the sign-in guard answers on its own for a signed-in route (plugin.web.auth.access.guard)
SIGNED_IN_ANSWERS = {401: "not signed in (a page: 303 to /login?next=...; htmx: HX-Redirect)",
                     403: "role too low, or a state-changing request without the session's CSRF token"}


async def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(document(request.app.state.routes))  # the route table (routes.py) the app was built from


def document(routes) -> dict:
    paths: dict[str, dict] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "digital-workflow-coder", "version": "1",
                 "description": "Clinical events in (FHIR Subscriptions, Standard Webhooks), suggested ChargeItems out."},
        "paths": paths,
        "components": {"securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "dwcoder_session",
                                                      "description": "signed in at /login (__Host-dwcoder_session over https)"}},
                       "schemas": {"OperationOutcome": {
            "type": "object", "required": ["resourceType", "issue"],
            "properties": {"resourceType": {"const": "OperationOutcome"}, "issue": {"type": "array", "items": {
                "type": "object", "properties": {"severity": {"type": "string"}, "code": {"type": "string"},
                                                 "diagnostics": {"type": "string"},
                                                 "expression": {"type": "array", "items": {"type": "string"}}}}}}}}},
    }


def _operation(route) -> dict:
    op: dict = {"summary": route.summary, "operationId": route.handler.__name__, "responses": {}}
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in _PARAM_RE.findall(route.path)]
    params += [{"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
               for name in route.headers if re.fullmatch(r"[a-z-]+", name)]
    if route.path == "/fhir/ChargeItem":
        params += [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                   for name in ("identifier", "status", "_count")]
    if params:
        op["parameters"] = params
    if route.accepts:
        op["requestBody"] = {"required": True, "content": {media: {} for media in route.accepts}}
    access = getattr(route, "access", "")
    op["x-access"] = access
    answers = route.answers
    if access in ("reviewer", "admin"):
        op["security"] = [{"session": []}]
        answers = dict(sorted({**SIGNED_IN_ANSWERS, **route.answers}.items()))
    for code, what in answers.items():
        answer: dict = {"description": what}
        if code >= 400:
            answer["content"] = {"application/fhir+json": {"schema": OUTCOME}}
            if code in (429, 503):
                answer["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        op["responses"][str(code)] = answer
    return op
