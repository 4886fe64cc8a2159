"""References a notification asks us to fetch: relative "Type/id", or an absolute URL ON the configured
FHIR base. Anything else (another host, another path, another scheme, urn:) is refused: the service
never fetches from a URL found inside a payload. The refusal names no URL (it came from the payload).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from plugin.errors import SourceRefused

RELATIVE_RE = re.compile(r"([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\-.]{1,64})(?:/_history/([A-Za-z0-9\-.]{1,64}))?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def to_relative(reference: str, base_url: str) -> str:
    """"Type/id" for a relative reference or an absolute URL on the base; SourceRefused(422) otherwise."""
    match = RELATIVE_RE.fullmatch(reference)
    if match:
        return f"{match[1]}/{match[2]}"
    rest = _under_base(reference, base_url)
    match = RELATIVE_RE.fullmatch(rest) if rest is not None else None
    if not match:
        raise SourceRefused(422, "business-rule", "a referenced resource is not on the configured FHIR server "
                            "(only relative 'Type/id' references or URLs under FHIR_BASE_URL are fetched)")
    return f"{match[1]}/{match[2]}"


def type_and_id(reference: str) -> str | None:
    """"Type/id" of any reference or URL (its last two path segments), for matching entries; None if none."""
    path = urlsplit(reference).path if "://" in reference else reference
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2 and RELATIVE_RE.fullmatch(f"{parts[-2]}/{parts[-1]}"):
        return f"{parts[-2]}/{parts[-1]}"
    return None


def _under_base(url: str, base_url: str) -> str | None:
    """The path of `url` below the base ("Encounter/1"), or None when it is not under it."""
    if not base_url or "://" not in url:
        return None
    target, base = urlsplit(url), urlsplit(base_url)
    if target.query or target.fragment or target.username or target.password:
        return None
    if (target.scheme.lower(), _host_port(target)) != (base.scheme.lower(), _host_port(base)):
        return None
    prefix = base.path.rstrip("/") + "/"
    if not target.path.startswith(prefix):
        return None
    return target.path[len(prefix):]


def _host_port(parts) -> tuple[str, int | None]:
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        port = -1
    return (parts.hostname or "").lower(), port
