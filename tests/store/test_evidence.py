"""plugin/store/evidence.py: which version of a resource is kept, whatever order they arrive in."""
from __future__ import annotations

import pytest

from plugin.evidence.model import FhirResource
from plugin.store.evidence import newer


def _proc(status: str, version: str | None = None, updated: str | None = None) -> FhirResource:
    meta = {k: v for k, v in (("versionId", version), ("lastUpdated", updated)) if v}
    res = {"resourceType": "Procedure", "id": "p1", "status": status, **({"meta": meta} if meta else {})}
    return FhirResource("event:1", "R4B", res)


@pytest.mark.parametrize("old, new, expected", [
    (_proc("completed", "2"), _proc("entered-in-error", "10"), True),  # numbers, not strings: 10 > 2
    (_proc("entered-in-error", "10"), _proc("completed", "2"), False),
    # random version ids (Medplum): the later lastUpdated wins, offsets understood
    (_proc("completed", "f0e1", "2026-10-14T10:00:00Z"), _proc("entered-in-error", "0a1b", "2026-10-14T12:30:00+02:00"), True),
    (_proc("entered-in-error", "0a1b", "2026-10-14T10:30:00Z"), _proc("completed", "f0e1", "2026-10-14T10:00:00Z"), False),
    (_proc("completed"), _proc("completed"), False),  # the same resource again changes nothing
])
def test_the_later_version_wins(old, new, expected):
    assert newer(old, new) is expected


def test_without_versions_the_choice_does_not_depend_on_arrival_order():
    a, b = _proc("completed"), _proc("entered-in-error")
    assert newer(a, b) != newer(b, a)
