"""FHIR JSON reader: single resources and Bundles of any type, validated with fhir.resources.

R4 and R4B validate against `fhir.resources.R4B`, R5 against `fhir.resources`; a resource is tried
against R4B first, then R5, and kept with the version it validated under. One invalid resource is a
Problem that names the resource, the element path and what is wrong; the other entries still count.
Subscription notifications (R5 `subscription-notification`, the R4 backport's `history` Bundle) carry
a status entry (SubscriptionStatus / Parameters) that is skipped; entries with no resource (id-only
notifications) are reported, since their content must be fetched from the server first.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import fhir.resources as r5
import fhir.resources.R4B as r4b
from pydantic import ValidationError

from plugin.errors import InputError, InvalidFHIR, UnsupportedResource
from plugin.evidence.model import FhirResource, Problem, ReadResult

VERSIONS = {"R4B": r4b, "R5": r5}
USED = frozenset(
    "Patient Organization Practitioner PractitionerRole Device Location Encounter Coverage Procedure "
    "ImagingStudy DiagnosticReport DocumentReference Media EpisodeOfCare".split()
)
NOTIFICATION_STATUS = frozenset({"SubscriptionStatus", "Parameters"})


def read_fhir_json(source: str, data: Any) -> ReadResult:
    """Evidence from one parsed JSON document (a resource or a Bundle)."""
    result = ReadResult()
    if not isinstance(data, dict) or "resourceType" not in data:
        result.problems.append(Problem.from_error(InvalidFHIR("not a FHIR resource: no resourceType", source=source)))
        return result
    if data["resourceType"] == "Bundle":
        for index, entry in enumerate(data.get("entry") or []):
            _read_entry(source, index, entry, result)
    else:
        _keep(source, data, "", result)
    return result


def _read_entry(source: str, index: int, entry: Any, result: ReadResult) -> None:
    where = f"{source}#entry[{index}]"
    if not isinstance(entry, dict):
        result.problems.append(Problem.from_error(InvalidFHIR("Bundle entry is not an object", source=where)))
        return
    resource = entry.get("resource")
    method = (entry.get("request") or {}).get("method", "")
    if method == "DELETE":
        return
    if resource is None:
        url = entry.get("fullUrl") or (entry.get("request") or {}).get("url", "")
        message = f"entry has no resource (id-only notification for {url or 'unknown'}): fetch it first"
        result.problems.append(Problem.from_error(InvalidFHIR(message, source=where)))
        return
    if isinstance(resource, dict) and resource.get("resourceType") in NOTIFICATION_STATUS:
        return
    _keep(source, resource, entry.get("fullUrl", ""), result)


def _keep(source: str, resource: Any, full_url: str, result: ReadResult) -> None:
    if isinstance(resource, dict) and resource.get("resourceType") == "Bundle":  # a Bundle inside a Bundle
        result.extend(read_fhir_json(source, resource))
        return
    try:
        version = validate(resource)
    except InputError as exc:
        result.problems.append(Problem.from_error(exc, where=source))
        return
    if resource["resourceType"] in USED:
        result.evidence.append(FhirResource(source=source, version=version, resource=resource, full_url=full_url))


def validate(resource: Any) -> str:
    """The FHIR version the resource is valid under ("R4B" or "R5"); InvalidFHIR / UnsupportedResource if neither."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise InvalidFHIR("not a FHIR resource: no resourceType", source="resource")
    rtype = resource["resourceType"]
    where = f"{rtype}/{resource.get('id', '?')}"
    errors: dict[str, list] = {}
    for version in VERSIONS:
        model = _model(version, rtype)
        if model is None:
            continue
        try:
            model.model_validate(resource)
            return version
        except ValidationError as exc:
            errors[version] = exc.errors()
    if not errors:
        raise UnsupportedResource(f"unknown resource type '{rtype}'", source=where)
    version, errs = min(errors.items(), key=lambda item: len(item[1]))
    more = f" (+{len(errs) - 1} more)" if len(errs) > 1 else ""
    raise InvalidFHIR(f"invalid {rtype} ({version}): {_describe(errs[0])}{more}", source=where)


def _describe(error: dict) -> str:
    path = ".".join(str(p) for p in error.get("loc", ())) or "(resource)"
    return f"{path}: {error.get('msg', 'invalid')}"


@lru_cache(maxsize=None)
def _model(version: str, rtype: str) -> Any:
    try:
        return VERSIONS[version].get_fhir_model_class(rtype)
    except (ValueError, KeyError, AttributeError):
        return None
