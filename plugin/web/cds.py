"""CDS Hooks 2.0 endpoints (thin: the work is in plugin/cds, as plain functions).

    GET  /cds-services                    discovery
    POST /cds-services/{service_id}       a hook call: cards
    POST /cds-services/{service_id}/feedback   what the clinician did with a card -> the reviewer queue

Every call is authenticated by the EHR's signed JWT first (plugin.cds.trust; 401 otherwise), with `aud` the
endpoint's full URL under CDS_BASE_URL (else the URL the request came in on). Refusals are OperationOutcomes
(plugin/web/problems.py). The hook's prefetch / fetched resources are stored as one event, so the pipeline adds
them to the case as it does any evidence; the `fhirAuthorization` token is never stored or logged.
"""
from __future__ import annotations

import hashlib
import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from plugin.cds import feedback as fb
from plugin.cds import hook, services, trust
from plugin.cds.cards import reasons_of
from plugin.errors import SourceRefused, StoreUnavailable
from plugin.store import cds as cds_store
from plugin.store.events import EventIn
from plugin.web.body import read_limited
from plugin.web.intake import in_store, store_and_queue
from plugin.web.middleware import correlation_id

log = logging.getLogger("dwcoder.cds")
MAX_HOOK_BYTES = 16 * 1024 * 1024


async def discovery(request: Request) -> JSONResponse:
    await _caller(request, "/cds-services")
    return JSONResponse(services.discovery())


async def call_service(request: Request) -> JSONResponse:
    service = _service(request)
    caller = await _caller(request, f"/cds-services/{service.id}")
    body = await _json(request)
    state = request.app.state.service
    allowed = _fhir_allowed(state.settings, caller)
    got = await in_store(hook.answer, state.settings, state.store, service, body, _base(request), allowed,
                         _reasons(state.settings))
    await in_store(_save_cards, state.store, service.id, got)
    await _keep_evidence(state, service.id, got, correlation_id(request.scope))
    log.info("cds %s: %d card(s), %d prefetched, %d fetched, %d not read", service.id, len(got.cards),
             len(got.gathered.from_prefetch), len(got.gathered.fetched), len(got.gathered.unavailable))
    return JSONResponse(got.response)


async def receive_feedback(request: Request) -> JSONResponse:
    service = _service(request)
    caller = await _caller(request, f"/cds-services/{service.id}/feedback")
    items = fb.parse(await _json(request))
    decide = _decide()
    results = await in_store(fb.apply, _context(request), service.id, items, caller.actor, decide)
    return JSONResponse({"results": results})


# --------------------------------------------------------------------------------- helpers
def _service(request: Request) -> services.Service:
    found = services.BY_ID.get(request.path_params["service_id"])
    if found is None:
        raise SourceRefused(404, "not-found", "no such CDS service (see GET /cds-services)")
    return found


def _base(request: Request) -> str:
    configured = request.app.state.service.settings.cds_base_url
    return configured or str(request.base_url).rstrip("/")


async def _caller(request: Request, path: str) -> trust.Caller:
    state = request.app.state.service
    settings = state.settings
    keysets = getattr(request.app.state, "cds_keysets", None)
    if keysets is None:
        keysets = request.app.state.cds_keysets = trust.KeySets(settings.cds_jwks_cache_s)
    token = trust.bearer(request.headers.get("authorization"))

    def remember(issuer, jti, expires_at):
        return cds_store.remember_jti(state.store, issuer, jti, expires_at)

    return await in_store(trust.verify, token, trust.audiences(_base(request), path), settings, keysets, remember)


async def _json(request: Request):
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media not in ("application/json", "application/fhir+json"):
        raise SourceRefused(415, "not-supported", "a CDS Hooks request is application/json")
    raw = await read_limited(request, MAX_HOOK_BYTES)
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SourceRefused(400, "structure", "the body is not JSON") from None


def _fhir_allowed(settings, caller: trust.Caller):
    servers = settings.cds_issuers.get(caller.issuer, {}).get("fhir_servers") or ()

    def allowed(base: str) -> bool:
        return not servers or base.rstrip("/") in servers
    return allowed


def _reasons(settings) -> list[tuple[str, str]]:
    try:
        from plugin.review import reject_reasons
    except ImportError:
        return []
    return reasons_of(reject_reasons(settings))


def _context(request: Request):
    """The pipeline's Context (settings, store, FHIR client) the reviewer queue decides with; one per app."""
    ctx = getattr(request.app.state, "cds_context", None)
    if ctx is None:
        from plugin.pipeline import Context

        state = request.app.state.service
        ctx = request.app.state.cds_context = Context(state.settings, state.store)
    return ctx


def _decide():
    try:
        from plugin.review import decide
    except ImportError:
        raise SourceRefused(501, "not-supported", "the reviewer queue (plugin.review) is not installed") from None
    return decide


def _save_cards(store, service_id: str, got: hook.Answer) -> None:
    for card, group, coded in got.cards:
        versions = {i: got.versions[i] for idents in card.suggestions.values() for i in idents if i in got.versions}
        cds_store.save_card(store, card.body["uuid"], service_id, group, coded, card.suggestions, versions)


async def _keep_evidence(state, service_id: str, got: hook.Answer, cid: str) -> None:
    """The hook's resources as one event: the pipeline adds them to the case (latest version wins)."""
    resources = got.gathered.resources if got.gathered else []
    if not resources:
        return
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    raw = json.dumps(bundle, sort_keys=True).encode()
    key = "cds:sha256:" + hashlib.sha256(raw).hexdigest()
    try:
        await store_and_queue(state, [EventIn(f"cds:{service_id}", "fhir", key, "application/fhir+json", raw, cid)])
    except StoreUnavailable:
        log.warning("cds %s: the hook's resources could not be stored (database unavailable)", service_id)
