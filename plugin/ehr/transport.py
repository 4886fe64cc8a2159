"""HTTP to the FHIR server: headers, auth, and the one place responses become errors.

    connection error, timeout, 5xx, 429   -> EhrUnavailable (retry_after from Retry-After on 429/503)
    other 4xx (after one token renewal on 401), 3xx -> EhrRefused, with the OperationOutcome's issues
    statuses the caller lists in `expect`  -> returned as they are (404 on read, 412 on If-Match ...)

Redirects are not followed (they could leave the base). Logs name the interaction ("PUT ChargeItem"),
the status and the time, never a URL, a query, a token or a resource (httpx's own URL logging is held at
WARNING).
"""
from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

import httpx

from plugin.ehr.answers import refused, unavailable, unreachable  # noqa: F401  (re-exported)
from plugin.errors import EhrRefused

if TYPE_CHECKING:
    from plugin.ehr.auth import Auth
    from plugin.ehr.base import Base

log = logging.getLogger("dwcoder.ehr")
# httpx logs every request's full URL (query included) at INFO: search parameters and references come from
# payloads, so its logger is held at WARNING whatever level the application sets for everything else.
logging.getLogger("httpx").setLevel(logging.WARNING)

FHIR_VERSIONS = {"R4": "4.0", "R4B": "4.3", "R5": "5.0"}


class Transport:
    def __init__(self, base: "Base", auth: "Auth | None", version: str, timeout: float) -> None:
        if version not in FHIR_VERSIONS:
            raise ValueError(f"FHIR version {version!r}: expected one of {', '.join(FHIR_VERSIONS)}")
        self.base = base
        self.auth = auth
        self.version = version
        mime = f"application/fhir+json; fhirVersion={FHIR_VERSIONS[version]}"
        self.http = httpx.Client(timeout=timeout, follow_redirects=False,
                                 headers={"Accept": mime, "User-Agent": "digital-workflow-coder"})
        self._content_type = mime

    def close(self) -> None:
        self.http.close()

    def send(self, method: str, url: str, what: str, *, body: dict | None = None, params: Any = None,
             headers: dict[str, str] | None = None, expect: tuple[int, ...] = ()) -> httpx.Response:
        """One FHIR interaction on an absolute URL already checked against the base."""
        content = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        for attempt in (1, 2):
            hdrs = dict(headers or {})
            if content is not None:
                hdrs["Content-Type"] = self._content_type
            if self.auth is not None:
                hdrs["Authorization"] = self.auth.header(self.http, self.base.url)
            started = time.perf_counter()
            try:
                response = self.http.request(method, url, content=content, params=params, headers=hdrs)
            except httpx.TransportError as exc:
                log.warning("ehr %s: %s", what, type(exc).__name__)
                raise unreachable(what, exc) from None
            log.debug("ehr %s -> %d (%.1f ms)", what, response.status_code, (time.perf_counter() - started) * 1e3)
            if response.status_code == 401 and self.auth is not None and attempt == 1:
                self.auth.invalidate()   # expired or revoked early: one fresh token, then give up
                continue
            break
        status = response.status_code
        if status in expect or 200 <= status < 300:
            return response
        if status == 429 or status >= 500:
            raise unavailable(what, response)
        raise refused(what, response)


def json_object(response: httpx.Response, what: str, allow_empty: bool = False) -> dict:
    """The response body as a JSON object; EhrRefused when it is something else ({} for an allowed empty body)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    if allow_empty and not response.content:
        return {}
    raise EhrRefused(f"{what}: the FHIR server answered {response.status_code} without a JSON object",
                     response.status_code)
