"""FHIR validation at the door, with messages that name the path and the field but never a value.

A thin adapter over the evidence reader's one validation (plugin.evidence.fhir.verdict: R4B for R4/R4B, then
R5, R4-only types as an R4 DomainResource): what the reader accepts passes. The first error of the version
with fewest errors is reported as SourceRefused(422) with its FHIRPath in `expression`; the pydantic message
is not used (it may quote the value), only its error type.
"""
from __future__ import annotations

import re
from typing import Any

from plugin.errors import SourceRefused
from plugin.evidence.fhir import verdict

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_WHAT = {
    "missing": ("required", "required element missing"),
    "extra_forbidden": ("structure", "unknown element"),
}


def check_resource(resource: Any, where: str) -> str:
    """The resource's type if it is valid FHIR (as the reader validates it); SourceRefused(422) naming the path
    otherwise."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise SourceRefused(422, "structure", f"{where or 'body'}: not a FHIR resource (no resourceType)",
                            expression=where)
    rtype = resource["resourceType"]
    found = verdict(resource)
    if found.version:
        return rtype
    if not found.tried:
        raise SourceRefused(422, "not-supported", f"{where or rtype}: unknown resource type", expression=where)
    errors = found.errors
    path = _path(where or rtype, errors[0].get("loc", ()))
    code, what = _WHAT.get(errors[0].get("type", ""), ("value", f"invalid value ({errors[0].get('type', 'invalid')})"))
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    raise SourceRefused(422, code, f"invalid {rtype}: {path}: {what}{more}", expression=path)


def _path(root: str, loc: tuple) -> str:
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:  # an element name; anything that does not look like one is not echoed
            path += "." + (part if _NAME_RE.fullmatch(str(part)) else "?")
    return path
