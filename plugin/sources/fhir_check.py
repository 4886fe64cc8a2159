"""FHIR validation at the door, with messages that name the path and the field but never a value.

Uses the same models as the evidence reader (plugin.evidence.fhir.VERSIONS: R4B for R4/R4B, then R5);
a resource valid under either passes. The first error of the version with fewest errors is reported as
SourceRefused(422) with its FHIRPath in `expression`; the pydantic message is not used (it may quote
the value), only its error type.
"""
from __future__ import annotations

from functools import lru_cache
import re
from typing import Any

from pydantic import ValidationError

from plugin.errors import SourceRefused
from plugin.evidence.fhir import VERSIONS

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_WHAT = {
    "missing": ("required", "required element missing"),
    "extra_forbidden": ("structure", "unknown element"),
}


def check_resource(resource: Any, where: str) -> str:
    """The resource's type if it is valid FHIR (R4/R4B or R5); SourceRefused(422) naming the path otherwise."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise SourceRefused(422, "structure", f"{where or 'body'}: not a FHIR resource (no resourceType)",
                            expression=where)
    rtype = resource["resourceType"]
    failures: list[list[dict]] = []
    for version in VERSIONS:
        model = _model(version, rtype)
        if model is None:
            continue
        try:
            model.model_validate(resource)
            return rtype
        except ValidationError as exc:
            failures.append(exc.errors(include_input=False, include_url=False))
    if not failures:
        raise SourceRefused(422, "not-supported", f"{where or rtype}: unknown resource type", expression=where)
    errors = min(failures, key=len)
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


@lru_cache(maxsize=None)
def _model(version: str, rtype: str) -> Any:
    try:
        return VERSIONS[version].get_fhir_model_class(rtype)
    except (ValueError, KeyError, AttributeError):
        return None
