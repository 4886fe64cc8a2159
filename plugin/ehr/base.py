"""The configured FHIR base: every URL the client fetches is checked against it here.

A reference found in a payload ("Patient/1", an absolute URL, a search `next` link) is resolved against
the base; anything that would leave it (another host, port or scheme, a path outside the base, `..`,
a relative reference that is not "Type/id[/_history/vid]") raises ForeignUrl. The message never
holds the URL itself (it came from a payload and may carry identifiers).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from plugin.errors import ForeignUrl

# "Type/id" or "Type/id/_history/vid" (FHIR ids: 1-64 of A-Z a-z 0-9 - .).
RELATIVE_REFERENCE = re.compile(r"[A-Z][A-Za-z]{1,63}/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Base:
    """A FHIR base URL ("https://ehr.example/fhir/R4"), normalized without a trailing slash."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("a FHIR base is an http(s) URL with a host and without query or fragment")
        self.url = url.strip().rstrip("/")
        self._origin = _origin(self.url)
        self._path = urlsplit(self.url).path.rstrip("/")

    def __str__(self) -> str:
        return self.url

    def join(self, path: str) -> str:
        """The absolute URL of a path relative to the base ("ChargeItem", "Provenance")."""
        return f"{self.url}/{path.lstrip('/')}"

    def resolve(self, reference: str) -> str:
        """The absolute URL of "Type/id[/_history/vid]" or of an absolute URL on this base; else ForeignUrl."""
        if "://" not in reference:
            if not RELATIVE_REFERENCE.fullmatch(reference):
                raise ForeignUrl("not a 'Type/id' reference on the FHIR base (refused, not fetched)")
            return self.join(reference)
        self.check(reference)
        return reference

    def check(self, url: str) -> None:
        """ForeignUrl unless `url` lies under this base (same scheme, host, port; path below the base's)."""
        try:
            origin = _origin(url)
            path = urlsplit(url).path
        except ValueError:
            raise ForeignUrl("not a URL on the FHIR base (refused, not fetched)") from None
        segments = path.split("/")
        inside = path == self._path or path.startswith(self._path + "/")
        if origin != self._origin or not inside or ".." in segments or "." in segments:
            raise ForeignUrl("a URL outside the configured FHIR base (refused, not fetched)")

    def relative(self, url: str) -> str:
        """The part of a URL on this base after the base ("ChargeItem?_offset=20"); ForeignUrl otherwise."""
        self.check(url)
        parts = urlsplit(url)
        rest = parts.path[len(self._path):].lstrip("/")
        return f"{rest}?{parts.query}" if parts.query else rest


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("not an http(s) URL")
    return scheme, parts.hostname.lower(), parts.port or _DEFAULT_PORTS[scheme]
