"""FhirClient: the plugin's one way to the EHR's FHIR server (R4 by default, R4B or R5 by configuration).

    read(reference)                 "Type/id" or an absolute URL on the base; None for 404/410
    read_binary(url_or_ref, max_bytes)  an attachment's bytes: Binary/<id> or a URL on the base (binary.py)
    search(rtype, params)           every page, following next links only while they stay on the base
    upsert_charge_item(resource)    by identifier[0]: created | updated | unchanged | held (see chargeitems.py)
    withdraw_charge_item(identifier)          entered-in-error unless held
    set_charge_item_status(identifier, status, if_match=None)   for the reviewer queue
    post_provenance(targets, entities, device_display)        the new Provenance's id

Nothing is fetched from outside the configured base: a foreign URL raises ForeignUrl before any request.
Errors: EhrUnavailable (retry later), EhrRefused (do not retry), ForeignUrl; see transport.py.
The client is safe to share between threads.
"""
from __future__ import annotations

import re
from typing import Any

from plugin.ehr import binary, chargeitems, provenance
from plugin.ehr.auth import Auth, SmartBackendAuth, StaticBearer
from plugin.ehr.base import Base
from plugin.ehr.chargeitems import Upsert
from plugin.ehr.transport import Transport, json_object
from plugin.errors import EhrRefused

MAX_PAGES = 100
RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
DEFAULT_TIMEOUT_S = 10.0


class FhirClient:
    def __init__(self, base_url: str, auth: Auth | None = None, version: str = "R4",
                 timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.base = Base(base_url)
        self.version = version
        self._t = Transport(self.base, auth, version, timeout)

    def __repr__(self) -> str:
        return f"FhirClient({self.base.url!r}, version={self.version!r})"

    def close(self) -> None:
        self._t.close()

    def __enter__(self) -> "FhirClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading -------------------------------------------------------------------------------

    def read(self, reference: str) -> dict | None:
        url = self.base.resolve(reference)
        rtype = self.base.relative(url).split("/", 1)[0]
        response = self._t.send("GET", url, f"read {rtype}", expect=(404, 410))
        if response.status_code in (404, 410):
            return None
        body = json_object(response, f"read {rtype}")
        if body.get("resourceType") != rtype:
            raise EhrRefused(f"read {rtype}: the FHIR server answered with another resource type", response.status_code)
        return body

    def read_binary(self, url_or_ref: str, max_bytes: int = binary.DEFAULT_MAX_BYTES) -> bytes:
        return binary.read_binary(self._t, url_or_ref, max_bytes)

    def search(self, rtype: str, params: dict[str, Any]) -> list[dict]:
        if not RESOURCE_TYPE.fullmatch(rtype):
            raise ValueError(f"not a FHIR resource type: {rtype!r}")
        url: str | None = self.base.join(rtype)
        query: Any = params
        seen: set[str] = set()
        found: list[dict] = []
        for _ in range(MAX_PAGES):
            response = self._t.send("GET", url, f"search {rtype}", params=query)
            bundle = json_object(response, f"search {rtype}")
            found.extend(e["resource"] for e in bundle.get("entry") or []
                         if isinstance(e, dict) and isinstance(e.get("resource"), dict)
                         and e["resource"].get("resourceType") == rtype)
            url = _next_link(bundle)
            if url is None:
                return found
            self.base.check(url)          # ForeignUrl: never follow a next link off the base
            if url in seen:
                raise EhrRefused(f"search {rtype}: the server's next links go round in a circle", 200)
            seen.add(url)
            query = None
        raise EhrRefused(f"search {rtype}: more than {MAX_PAGES} pages (narrow the search)", 200)

    # --- ChargeItems -----------------------------------------------------------------------------

    def upsert_charge_item(self, resource: dict, last: tuple[str, str] | None = None) -> Upsert:
        """Create or update by identifier; `last` (id, version) of this caller's previous write, or
        chargeitems.NEW, saves the search when nobody else wrote meanwhile."""
        return chargeitems.upsert(self._t, resource, last)

    def withdraw_charge_item(self, identifier: dict) -> Upsert:
        return chargeitems.withdraw(self._t, identifier)

    def set_charge_item_status(self, identifier: dict, status: str, if_match: str | None = None) -> Upsert:
        return chargeitems.set_status(self._t, identifier, status, if_match=if_match)

    def post_provenance(self, targets: list[str], entities: list[str], device_display: str) -> str:
        resource = provenance.build(targets, entities, device_display)
        response = self._t.send("POST", self.base.join("Provenance"), "create Provenance", body=resource,
                                headers={"Prefer": "return=representation"})
        body = json_object(response, "create Provenance", allow_empty=True)
        rid = body.get("id") or response.headers.get("Location", "").split("Provenance/")[-1].split("/")[0]
        if not rid:
            raise EhrRefused("create Provenance: the FHIR server gave no id", response.status_code)
        return rid


def client_from_settings(settings: Any) -> FhirClient | None:
    """The configured client, or None when FHIR_BASE_URL is unset (the embedded ChargeItem store is used)."""
    base = getattr(settings, "fhir_base_url", "")
    if not base:
        return None
    mode = getattr(settings, "fhir_auth", "none")
    auth: Auth | None = None
    if mode == "bearer":
        auth = StaticBearer(settings.fhir_bearer_token)
    elif mode == "smart":
        kwargs = {"scope": settings.smart_scope} if getattr(settings, "smart_scope", "") else {}
        auth = SmartBackendAuth(getattr(settings, "smart_token_url", "") or None, settings.smart_client_id,
                                settings.smart_private_key, settings.smart_kid,
                                alg=getattr(settings, "smart_alg", "RS384"), **kwargs)
    return FhirClient(base, auth, version=getattr(settings, "fhir_version", "R4"),
                      timeout=float(getattr(settings, "fhir_timeout", DEFAULT_TIMEOUT_S)))


def _next_link(bundle: dict) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"]
    return None

