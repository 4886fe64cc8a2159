"""FHIR JSON reader: single resources and Bundles of any type, validated with fhir.resources.

R4 and R4B validate against `fhir.resources.R4B`, R5 against `fhir.resources`; a resource is tried
against R4B first, then R5, and kept with the version it validated under. The R4 (4.0.1) types that
R4B and R5 dropped (MedicinalProduct*, EffectEvidenceSynthesis, ...) have no model in fhir.resources:
they are checked as an R4B DomainResource (id, meta, text, contained, extensions) and, like every
type the rules do not read, accepted and ignored; so are R4 Evidence/EvidenceVariable, which R4B revised. One invalid resource is a Problem that names the
resource, the element path and what is wrong; the other entries still count.

Bundle entries are read by Bundle type: transaction/batch entries without a resource (DELETE,
conditional or plain GET) and transaction-response/batch-response/history entries without one are
requests or outcomes, not evidence, and not problems either. Subscription notifications (R5
`subscription-notification`, the Backport IG's `history` Bundle led by a Parameters (R4) or
SubscriptionStatus (R4B) status) become a `Notification` (notifications.py) that names its form and
what must be fetched. No URL, query string or identifier from a payload goes into a message.
A resource without an `id` (legal in a transaction, where its identity is its `urn:uuid` fullUrl) is
kept with that uuid as its id (else its entry number and file), so every reference resolves one way.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import fhir.resources as r5
import fhir.resources.R4B as r4b
from pydantic import ValidationError

from plugin.errors import InputError, InvalidFHIR, UnreadableInput, UnsupportedResource
from plugin.evidence import notifications
from plugin.evidence.model import FhirResource, Problem, ReadResult

VERSIONS = {"R4B": r4b, "R5": r5}
USED = frozenset(
    "Patient Organization Practitioner PractitionerRole Device Location Encounter Coverage Procedure "
    "ImagingStudy DiagnosticReport DocumentReference Media EpisodeOfCare".split()
)
# FHIR R4 (4.0.1) resource types with no model in fhir.resources' R4B or R5 packages, or whose R5 model
# describes a different structure (R4 resource list vs the R4B and R5 lists, hl7.org/fhir/R4/resourcelist.html).
R4_ONLY = frozenset(
    "EffectEvidenceSynthesis RiskEvidenceSynthesis MedicinalProduct MedicinalProductAuthorization "
    "MedicinalProductContraindication MedicinalProductIndication MedicinalProductIngredient "
    "MedicinalProductInteraction MedicinalProductManufactured MedicinalProductPackaged "
    "MedicinalProductPharmaceutical MedicinalProductUndesirableEffect SubstanceSpecification SubstanceNucleicAcid "
    "SubstancePolymer SubstanceProtein SubstanceReferenceInformation SubstanceSourceMaterial".split()
)
# R4 types whose structure R4B and R5 revised (R4B: "Evidence and EvidenceVariable substantially revised"): an R4
# instance validates under neither model, so when both refuse it, it is checked as an R4 DomainResource too.
R4_REVISED = frozenset({"Evidence", "EvidenceVariable"})
DOMAIN_ELEMENTS = ("resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension",
                   "modifierExtension")
_ELEMENT = re.compile(r"^[A-Za-z0-9_]{1,64}$")  # an element name or index; anything else is payload text
REQUEST_BUNDLES = frozenset({"transaction", "batch"})
RESPONSE_BUNDLES = frozenset({"transaction-response", "batch-response"})


def read_fhir_json(source: str, data: Any) -> ReadResult:
    """Evidence from one parsed JSON document (a resource or a Bundle); never raises."""
    try:
        return _read_document(source, data)
    except Exception as exc:  # a defect in this reader: the document is named, the other files are still read
        return ReadResult(problems=[Problem.from_error(UnreadableInput.of(exc, source))])


def _read_document(source: str, data: Any) -> ReadResult:
    result = ReadResult()
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        result.problems.append(Problem.from_error(InvalidFHIR("not a FHIR resource: no resourceType", source=source)))
        return result
    if data["resourceType"] == "Bundle":
        _read_bundle(source, data, result)
    elif notifications.is_status(data):
        _keep_status(source, data, [], result)
    else:
        _keep(source, data, "", _place(source, 0), result)
    return result


def _read_bundle(source: str, bundle: dict, result: ReadResult) -> None:
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        result.problems.append(Problem.from_error(InvalidFHIR("Bundle.entry is not a list", source=source)))
        return
    if notifications.is_notification(bundle):
        _read_notification(source, bundle, entries, result)
        return
    kind = bundle.get("type") if isinstance(bundle.get("type"), str) else ""
    for index, entry in enumerate(entries):
        where = f"{source}#entry[{index}]"
        try:
            _read_entry(source, where, index, kind, entry, result)
        except Exception as exc:  # one entry's defect is that entry's problem
            result.problems.append(Problem.from_error(UnreadableInput.of(exc, where)))


def _read_entry(source: str, where: str, index: int, kind: str, entry: Any, result: ReadResult) -> None:
    if not isinstance(entry, dict):
        result.problems.append(Problem.from_error(InvalidFHIR("Bundle entry is not an object", source=where)))
        return
    resource = entry.get("resource")
    if resource is None:
        if entry.get("request") or entry.get("response") or kind in REQUEST_BUNDLES | RESPONSE_BUNDLES | {"history"}:
            result.ignored += 1  # a request (DELETE, GET, conditional), an outcome or a deletion: no resource to read
            return
        result.problems.append(Problem.from_error(InvalidFHIR("Bundle entry has neither a resource, a request nor a response", source=where)))
        return
    _keep(source, resource, _full_url(entry), _place(source, index), result)


def _read_notification(source: str, bundle: dict, entries: list, result: ReadResult) -> None:
    """A subscription notification: its status resource names the form; full resources are read as evidence."""
    included: list[tuple[str, str]] = []  # (fullUrl, "Type/id") of every resource the notification carries
    bare: list[dict] = []  # entries without a resource: id-only content
    statuses: list[dict] = []
    for index, entry in enumerate(entries):
        where = f"{source}#entry[{index}]"
        try:
            if not isinstance(entry, dict):
                result.problems.append(Problem.from_error(InvalidFHIR("Bundle entry is not an object", source=where)))
                continue
            resource = entry.get("resource")
            if resource is None:
                bare.append(entry)
            elif notifications.is_status(resource) and not statuses:
                statuses.append(resource)
            else:
                if isinstance(resource, dict):
                    included.append((_full_url(entry), f"{resource.get('resourceType')}/{resource.get('id', '')}"))
                _keep(source, resource, _full_url(entry), _place(source, index), result)
        except Exception as exc:
            result.problems.append(Problem.from_error(UnreadableInput.of(exc, where)))
    _keep_status(source, statuses[0] if statuses else {}, included, result, bare)


def _keep_status(source: str, status: dict, included: list[tuple[str, str]], result: ReadResult,
                 bare: list[dict] | None = None) -> None:
    try:
        if status:
            validate(status)
        result.notifications.append(notifications.describe(source, status, included, bare or []))
    except InputError as exc:
        result.problems.append(Problem.from_error(exc, where=source))
    except Exception as exc:  # a defect in the notification reader: named, the entries already read still count
        result.problems.append(Problem.from_error(UnreadableInput.of(exc, f"{source}#subscription-status")))


def _keep(source: str, resource: Any, full_url: str, place: str, result: ReadResult) -> None:
    if isinstance(resource, dict) and resource.get("resourceType") == "Bundle":  # a Bundle inside a Bundle
        result.extend(read_fhir_json(source, resource))
        return
    try:
        version = validate(resource)
    except InputError as exc:
        result.problems.append(Problem.from_error(exc, where=source))
        return
    if resource["resourceType"] not in USED:
        result.ignored += 1
        return
    if not resource.get("id"):  # legal in a transaction: its identity is its fullUrl's uuid, else its place
        resource = {**resource, "id": _uuid(full_url) or place}
    result.evidence.append(FhirResource(source=source, version=version, resource=resource, full_url=full_url))


def _full_url(entry: dict) -> str:
    url = entry.get("fullUrl")
    return url if isinstance(url, str) else ""


def _uuid(full_url: str) -> str:
    uuid = full_url.removeprefix("urn:uuid:") if full_url.startswith("urn:uuid:") else ""
    return uuid if re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", uuid) else ""


def _place(source: str, index: int) -> str:
    """A stable FHIR id for an id-less resource without a urn:uuid fullUrl: its entry number and its file."""
    return f"entry-{index}-{hashlib.sha1(source.encode()).hexdigest()[:10]}"


@dataclass(frozen=True)
class Verdict:
    """What validation found: the version a resource is valid under, else the errors of the version with fewest."""

    version: str = ""  # "R4B", "R5", or "R4" for R4-only types, when valid
    tried: str = ""  # else the version whose errors these are ("": no model knows the type)
    errors: tuple[dict, ...] = ()  # pydantic errors without the input: loc, type, msg


def verdict(resource: dict) -> Verdict:
    """The one FHIR validation (the reader's `validate` and the door's check both read it): R4B first, then R5;
    an R4-only type, or an R4 type R4B revised that neither model takes, as an R4 DomainResource."""
    rtype = resource["resourceType"]
    failures: dict[str, tuple[dict, ...]] = {}
    for version in VERSIONS:
        model = _model(version, rtype)
        if model is None:
            continue
        try:
            model.model_validate(resource)
            return Verdict(version=version)
        except ValidationError as exc:
            failures[version] = _errors(exc)
    if rtype in R4_ONLY or rtype in R4_REVISED:
        return _r4_only(resource)
    if not failures:
        return Verdict()
    tried, errors = min(failures.items(), key=lambda item: len(item[1]))
    return Verdict(tried=tried, errors=errors)


def _r4_only(resource: dict) -> Verdict:
    """An R4-only type: the elements every DomainResource has, checked with the R4B DomainResource model."""
    shell = {k: v for k, v in resource.items() if k in DOMAIN_ELEMENTS and k != "resourceType"}
    try:
        _model("R4B", "DomainResource").model_validate(shell)
    except ValidationError as exc:
        return Verdict(tried="R4", errors=_errors(exc))
    return Verdict(version="R4")


def _errors(exc: ValidationError) -> tuple[dict, ...]:
    return tuple(exc.errors(include_input=False, include_url=False))


def validate(resource: Any) -> str:
    """The FHIR version the resource is valid under ("R4B", "R5", or "R4" for R4-only types); InvalidFHIR /
    UnsupportedResource if none."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise InvalidFHIR("not a FHIR resource: no resourceType", source="resource")
    rtype = resource["resourceType"]
    where = f"{_safe_type(rtype)}/{_safe_id(resource)}"
    found = verdict(resource)
    if found.version:
        return found.version
    if not found.tried:
        raise UnsupportedResource(f"unknown resource type '{_safe_type(rtype)}'", source=where)
    more = f" (+{len(found.errors) - 1} more)" if len(found.errors) > 1 else ""
    raise InvalidFHIR(f"invalid {rtype} ({found.tried}): {_describe(found.errors[0])}{more}", source=where)


def _safe_id(resource: dict) -> str:
    rid = resource.get("id")
    return rid if isinstance(rid, str) and rid.replace("-", "").replace(".", "").isalnum() and len(rid) <= 64 else "?"


def _safe_type(rtype: str) -> str:
    return rtype if rtype.isalnum() and len(rtype) <= 64 else "(not a type name)"


def _describe(error: dict) -> str:
    """Where and what, never the offending value (it may be a name or an identifier)."""
    path = ".".join(str(p) if _ELEMENT.match(str(p)) else "?" for p in error.get("loc", ())) or "(resource)"
    return f"{path}: {error.get('msg', 'invalid')}"


@lru_cache(maxsize=None)
def _model(version: str, rtype: str) -> Any:
    try:
        return VERSIONS[version].get_fhir_model_class(rtype)
    except (ValueError, KeyError, AttributeError):
        return None
