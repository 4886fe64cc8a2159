"""GET /openapi.json: OpenAPI 3.1 made from the route table (routes.py), so it lists every route as served."""
from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse

OUTCOME = {"$ref": "#/components/schemas/OperationOutcome"}
_PARAM_RE = re.compile(r"\{([^}]+)\}")


async def openapi_document(request: Request) -> JSONResponse:
    from plugin.web.routes import ROUTES  # the table imports this module

    return JSONResponse(document(ROUTES))


def document(routes) -> dict:
    paths: dict[str, dict] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "digital-workflow-coder", "version": "1",
                 "description": "Clinical events in (FHIR Subscriptions, Standard Webhooks), suggested ChargeItems out."},
        "paths": paths,
        "components": {"schemas": {"OperationOutcome": {
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
    for code, what in route.answers.items():
        answer: dict = {"description": what}
        if code >= 400:
            answer["content"] = {"application/fhir+json": {"schema": OUTCOME}}
            if code in (429, 503):
                answer["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        op["responses"][str(code)] = answer
    return op
