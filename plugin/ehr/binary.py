"""Reading an attachment's bytes from the EHR (issue 8 part 3): `Binary/<id>`, or an absolute URL on the
configured FHIR base; anything else raises ForeignUrl before a request is made.

    read_binary(transport, url_or_ref, max_bytes) -> bytes

The body is streamed and cut off past the limit (OversizedInput: not read). A server answering with the Binary
resource as FHIR JSON (what `Accept: application/fhir+json` asks for) is decoded from `Binary.data`; a server
answering with the raw content is taken as it is. Errors as for every FHIR call (transport.py): 404/410 and other
4xx EhrRefused, 5xx/429/timeouts EhrUnavailable (retried). Nothing of the URL or the content is logged.
"""
from __future__ import annotations

import base64
import binascii
import json

import httpx

from plugin.ehr.answers import refused, unavailable, unreachable
from plugin.ehr.transport import FHIR_VERSIONS, Transport
from plugin.errors import EhrRefused, OversizedInput

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_JSON_SLACK = 64 * 1024  # the JSON around a base64 `data`


def read_binary(t: Transport, url_or_ref: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    url = t.base.resolve(url_or_ref)        # ForeignUrl: never fetched
    wire_limit = max_bytes * 4 // 3 + _JSON_SLACK
    accept = f"application/fhir+json; fhirVersion={FHIR_VERSIONS[t.version]}, */*;q=0.5"
    for attempt in (1, 2):
        headers = {"Accept": accept}
        if t.auth is not None:
            headers["Authorization"] = t.auth.header(t.http, t.base.url)
        try:
            with t.http.stream("GET", url, headers=headers) as response:
                if response.status_code == 401 and t.auth is not None and attempt == 1:
                    t.auth.invalidate()
                    continue
                _check_status(response)
                body = _limited(response, wire_limit, max_bytes)
                ctype = response.headers.get("content-type", "")
        except httpx.TransportError as exc:
            raise unreachable("read Binary", exc) from None
        return _content(body, ctype, max_bytes)
    raise EhrRefused("read Binary: the FHIR server refused the renewed token (401)", 401)


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    response.read()
    if status in (404, 410):
        raise EhrRefused(f"read Binary: the FHIR server has no such attachment ({status})", status)
    if status == 429 or status >= 500:
        raise unavailable("read Binary", response)
    raise refused("read Binary", response)


def _limited(response: httpx.Response, wire_limit: int, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > wire_limit:
        raise OversizedInput(f"attachment of {declared} bytes is over the limit of {max_bytes} bytes: not read", "Binary")
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > wire_limit:
            raise OversizedInput(f"attachment over the limit of {max_bytes} bytes: not read", "Binary")
    return bytes(body)


def _content(body: bytes, ctype: str, max_bytes: int) -> bytes:
    media = ctype.split(";", 1)[0].strip().lower()
    if media in ("application/fhir+json", "application/json"):
        try:
            resource = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise EhrRefused("read Binary: the FHIR server answered JSON that does not parse", 200) from None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Binary":
            raise EhrRefused("read Binary: the FHIR server answered with something other than a Binary", 200)
        if not isinstance(resource.get("data"), str):
            raise EhrRefused("read Binary: the Binary has no data", 200)
        try:
            body = base64.b64decode(resource["data"], validate=True)
        except (binascii.Error, ValueError):
            raise EhrRefused("read Binary: Binary.data is not base64", 200) from None
    if len(body) > max_bytes:
        raise OversizedInput(f"attachment of {len(body)} bytes is over the limit of {max_bytes} bytes: not read", "Binary")
    return body
