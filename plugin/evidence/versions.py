"""Which of two copies of a FHIR resource is the later version: one rule, for files (`dwcoder suggest`, via
plugin.case.latest_versions) and for the store (plugin.store.evidence.put_resource).

The later `meta.lastUpdated` wins (offsets understood; a copy with one beats a copy without); then a numeric
`meta.versionId`, by number ("10" > "2"; a number beats a UUID); then a fixed order of the rest (the versionId
text, the content, fullUrl, source), so the choice never depends on the order the copies came in.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from plugin.evidence.model import FhirResource

_NO_TIME = datetime.min.replace(tzinfo=timezone.utc)


def version_key(item: FhirResource) -> tuple:
    """A total order of the copies of one resource: the larger key is the later version."""
    meta = item.resource.get("meta") or {}
    moment = instant(meta.get("lastUpdated"))
    version = str(meta.get("versionId", ""))
    numeric = version.isascii() and version.isdigit()
    return (moment is not None, moment or _NO_TIME, numeric, int(version) if numeric else 0, version,
            content(item), item.full_url, item.source)


def newer(old: FhirResource, new: FhirResource) -> bool:
    """Is `new` a later version than `old`? (The same content again is not.)"""
    return old.resource != new.resource and version_key(new) > version_key(old)


def latest_versions(items: list[FhirResource]) -> list[FhirResource]:
    """One copy of each resource, the latest by `version_key`, ordered by key. Resources without an id (legal in
    a transaction Bundle) are told apart by their fullUrl, else their content."""
    best: dict[str, tuple[tuple, FhirResource]] = {}
    for item in items:
        key = item.ref if item.resource.get("id") else f"{item.ref}{item.full_url or content(item)}"
        rank = version_key(item)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, item)
    return [best[k][1] for k in sorted(best)]


def instant(value) -> datetime | None:
    """A FHIR instant as an aware datetime (no offset: UTC); None when absent or unreadable."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def content(item: FhirResource) -> str:
    return json.dumps(item.resource, sort_keys=True)
