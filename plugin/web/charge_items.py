"""GET /fhir/ChargeItem and /fhir/ChargeItem/{id}: the embedded ChargeItem store (no FHIR_BASE_URL),
read through plugin.store.chargeitems. Search parameters: identifier (token), status (comma = any of),
_count; any other parameter is refused (400), as a FHIR server does for unknown parameters.
It holds every practice's ChargeItems: only a deployment admin (role admin, practice "*") reads it (issue 9).
"""
from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from plugin.errors import SourceRefused
from plugin.store import chargeitems
from plugin.web.auth import ALL_PRACTICES, NotAllowed, current_user
from plugin.web.intake import in_store
from plugin.web.problems import FHIR_JSON

SEARCH_PARAMS = frozenset({"identifier", "status", "_count"})
MAX_COUNT = 1000


async def _deployment_admin(request: Request) -> None:
    if (await current_user(request)).practice != ALL_PRACTICES:
        raise NotAllowed("the embedded ChargeItem store holds every practice's items: a deployment admin (practice *) reads it")


async def search_charge_items(request: Request) -> Response:
    await _deployment_admin(request)
    params = request.query_params
    unknown = sorted(set(params.keys()) - SEARCH_PARAMS)
    if unknown:
        raise SourceRefused(400, "not-supported", "unknown search parameter (supported: identifier, status, _count)")
    count = params.get("_count", str(MAX_COUNT))
    if not count.isdigit() or not 0 < int(count) <= MAX_COUNT:
        raise SourceRefused(400, "value", f"_count must be a whole number from 1 to {MAX_COUNT}", expression="_count")
    items = await in_store(chargeitems.search, request.app.state.service.store,
                           params.get("identifier", ""), params.get("status", ""), int(count))
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(items),
              "entry": [{"fullUrl": f"ChargeItem/{item.get('id')}", "resource": item, "search": {"mode": "match"}}
                        for item in items]}
    return _fhir(bundle)


async def read_charge_item(request: Request) -> Response:
    await _deployment_admin(request)
    item = await in_store(chargeitems.read, request.app.state.service.store, request.path_params["id"])
    if item is None:
        raise SourceRefused(404, "not-found", "no ChargeItem with this id")
    return _fhir(item)


def _fhir(resource: dict) -> Response:
    return Response(json.dumps(resource).encode(), media_type=FHIR_JSON)
