"""Suggestions as a FHIR transaction Bundle of `ChargeItem`s (the contract's section 5, `--format fhir`).

One ChargeItem per suggested `Line`. Every entry is a conditional update
(`PUT ChargeItem?identifier=<system>|<value>`), so posting the same suggestion again replaces the
earlier ChargeItem instead of adding a second one. The identifier depends only on the practice, the
case, the claim form and the line's key (code plus modifiers); see `line_identifier`.

Status: every ChargeItem is produced `planned`. A reviewer's decision later moves it on
(`status_for`): approved -> `billable`, rejected -> `not-billable`, withdrawn because the evidence
changed -> `entered-in-error`.

Versions: "R4" and "R4B" produce the R4 shape (`context`, `service` as Reference) and are validated
with `fhir.resources.R4B`; "R5" produces the R5 shape (`encounter`, `service` as CodeableReference)
and is validated with `fhir.resources`. A ChargeItem or Bundle that does not validate is a bug in
this module and raises `RuntimeError`.

Identifier system
    https://dwcoder.org/fhir/sid/charge-line
        `ChargeItem.identifier`: value is a UUID (v5, lower-case, no "urn:uuid:" prefix) of
        practice + case + claim + line key. The entry's `fullUrl` is "urn:uuid:" + the same UUID.

Extensions (all on `ChargeItem.extension`, in this order; the documented extensions of this plugin)
    https://dwcoder.org/fhir/StructureDefinition/charge-modifier
        0..*, valueCoding. One per modifier of the line, in the line's order, e.g.
        {"system": "http://www.ama-assn.org/go/cpt", "code": "26"}. Modifiers (26, TC, 52, ...) are
        coded in the CPT system whatever the line's own code system is.
    https://dwcoder.org/fhir/StructureDefinition/charge-rule
        0..1, valueString. Id of the mappings rule that made the line (absent when the line has none).
    https://dwcoder.org/fhir/StructureDefinition/charge-alternative
        0..*, complex. One per alternative code the reviewer may choose instead, in the line's order.
        Sub-extensions (in this order):
            code      1..1 valueString  the alternative code, e.g. "D0391"
            system    0..1 valueUri     its code system, when known
            modifier  0..* valueString  one per modifier of the alternative, e.g. "52"
            why       0..1 valueString  plain-words reason, e.g. "dental claim" (absent when empty)

Other elements
    code                    coding system / code / display (the project's own short label)
    quantity.value          the line's quantity
    subject                 Reference to the Patient whenever the evidence names one (sent or not);
                            else a logical reference by identifier: "system|value", or a bare value
                            such as a DICOM PatientID (its IssuerOfPatientID as the system where that is
                            an OID or URI, else as the assigner's display)
    context (R4) / encounter (R5)   the case's Encounter, when known
    occurrenceDateTime      the date of service, when known
    performingOrganization  logical reference by the practice's identifier
    service                 evidence of a type ChargeItem.service allows (see SERVICE_TYPES)
    supportingInformation   the other evidence: "Series/<uid>" as an identifier reference
                            (system urn:dicom:uid, value urn:oid:<uid>, display "DICOM series"),
                            "File/<name>" as a display-only reference ("file <name>"), anything else
                            "Type/id" as a plain reference
    note                    the rationale, then the documentation needed, then the alternatives,
                            then the case's notices that name this line's code,
                            as plain text (one Annotation each, empty ones left out)
"""
from __future__ import annotations

import json
import re
import uuid
from typing import Any

from pydantic import ValidationError

from plugin.suggestion import CPT, Line, Suggestion

LINE_ID_SYSTEM = "https://dwcoder.org/fhir/sid/charge-line"
EXT_BASE = "https://dwcoder.org/fhir/StructureDefinition/"
EXT_MODIFIER = EXT_BASE + "charge-modifier"
EXT_RULE = EXT_BASE + "charge-rule"
EXT_ALTERNATIVE = EXT_BASE + "charge-alternative"
MODIFIER_SYSTEM = CPT
DICOM_UID_SYSTEM = "urn:dicom:uid"

VERSIONS = ("R4", "R4B", "R5")

# Target types ChargeItem.service allows (R4/R4B: Reference; R5: CodeableReference).
SERVICE_TYPES: dict[str, frozenset[str]] = {
    "R4": frozenset({
        "DiagnosticReport", "ImagingStudy", "Immunization", "MedicationAdministration",
        "MedicationDispense", "Observation", "Procedure", "SupplyDelivery",
    }),
    "R5": frozenset({
        "DiagnosticReport", "ImagingStudy", "Immunization", "MedicationAdministration",
        "MedicationDispense", "MedicationRequest", "Observation", "Procedure", "ServiceRequest",
        "SupplyDelivery",
    }),
}
SERVICE_TYPES["R4B"] = SERVICE_TYPES["R4"]

# Reviewer decision -> ChargeItem.status.
STATUS_BY_DECISION: dict[str, str] = {
    "pending": "planned",
    "approved": "billable",
    "rejected": "not-billable",
    "withdrawn": "entered-in-error",
}

# Namespace of the line identifiers: fixed forever, or every posted ChargeItem gets a twin.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, LINE_ID_SYSTEM)

# FHIR dateTime (R4 and R5 agree).
_DATETIME = re.compile(
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
    r"(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?"
    r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?"
)
# "Type/id", "Type/id/_history/v" or an absolute URL ending so.
_REFERENCE = re.compile(r"(?:^|/)([A-Z][A-Za-z]*)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$")


def status_for(decision: str) -> str:
    """ChargeItem.status for a reviewer's decision ("pending", "approved", "rejected", "withdrawn")."""
    try:
        return STATUS_BY_DECISION[decision]
    except (KeyError, TypeError):
        allowed = ", ".join(repr(d) for d in STATUS_BY_DECISION)
        raise ValueError(f"unknown reviewer decision {decision!r}: expected one of {allowed}") from None


def line_identifier(suggestion: Suggestion, line: Line) -> tuple[str, str]:
    """(system, value) identifying a charge line across runs.

    The value is a UUID v5 of practice, case, claim and `line.key` only: the same line suggested
    again (other label, rationale, quantity or evidence) keeps its identifier, so the conditional
    update replaces the earlier ChargeItem.
    """
    name = json.dumps([suggestion.practice, suggestion.case, suggestion.claim, line.key], ensure_ascii=True)
    return LINE_ID_SYSTEM, str(uuid.uuid5(_NAMESPACE, name))


def to_bundle(suggestions: list[Suggestion], version: str = "R4") -> dict[str, Any]:
    """A FHIR transaction Bundle (JSON dict) with one conditional-update ChargeItem entry per line.

    Deterministic: the same suggestions give the same dict, key order included. Raises ValueError
    for a bad `version`, a case without any subject, a bad date, or two lines of one case with the
    same identifier; RuntimeError when the result does not validate (a bug here).
    """
    if version not in VERSIONS:
        raise ValueError(f"unknown FHIR version {version!r}: expected one of {', '.join(VERSIONS)}")
    models = _models(version)
    entries: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for suggestion in suggestions:
        for line in suggestion.lines:
            system, value = line_identifier(suggestion, line)
            where = f"case {suggestion.case!r} ({suggestion.claim}), line {line.key!r}"
            if value in seen:
                raise ValueError(
                    f"{where}: same charge-line identifier as {seen[value]} "
                    "(one ChargeItem per practice, case, claim and code+modifiers)"
                )
            seen[value] = where
            item = _charge_item(suggestion, line, version, (system, value))
            _check(item, models["ChargeItem"], where, version)
            entries.append({
                "fullUrl": f"urn:uuid:{value}",
                "resource": item,
                "request": {"method": "PUT", "url": f"ChargeItem?identifier={system}|{value}"},
            })
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "transaction"}
    if entries:
        bundle["entry"] = entries
    # each ChargeItem was checked above (naming its line); the Bundle around them is checked without them, so
    # no resource is validated twice
    envelope = {**bundle, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]} if entries else bundle
    _check(envelope, models["Bundle"], "Bundle", version)
    return bundle


# --- building -------------------------------------------------------------------------------


def _charge_item(suggestion: Suggestion, line: Line, version: str, ident: tuple[str, str]) -> dict[str, Any]:
    r5 = version == "R5"
    item: dict[str, Any] = {"resourceType": "ChargeItem"}
    extensions = _extensions(line)
    if extensions:
        item["extension"] = extensions
    item["identifier"] = [{"system": ident[0], "value": ident[1]}]
    item["status"] = "planned"
    item["code"] = {"coding": [_drop_empty({"system": line.system, "code": line.code, "display": line.label})]}
    item["subject"] = _subject(suggestion)
    if suggestion.encounter:
        item["encounter" if r5 else "context"] = {"reference": suggestion.encounter}
    if suggestion.date:
        if not _DATETIME.fullmatch(suggestion.date):
            raise ValueError(
                f"case {suggestion.case!r}: date {suggestion.date!r} is not a FHIR dateTime (e.g. 2026-10-14)"
            )
        item["occurrenceDateTime"] = suggestion.date
    if suggestion.practice:
        item["performingOrganization"] = {"identifier": _identifier(suggestion.practice)}
    item["quantity"] = {"value": line.quantity}
    service, supporting = _evidence(line.evidence, version)
    if service:
        item["service"] = [{"reference": ref} for ref in service] if r5 else service
    if supporting:
        item["supportingInformation"] = supporting
    notes = _notes(line) + _notice_notes(suggestion, line)
    if notes:
        item["note"] = notes
    return item


def _extensions(line: Line) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"url": EXT_MODIFIER, "valueCoding": {"system": MODIFIER_SYSTEM, "code": m}} for m in line.modifiers
    ]
    if line.rule:
        out.append({"url": EXT_RULE, "valueString": line.rule})
    for alt in line.alternatives:
        sub: list[dict[str, Any]] = [{"url": "code", "valueString": alt.code}]
        if alt.system:
            sub.append({"url": "system", "valueUri": alt.system})
        sub.extend({"url": "modifier", "valueString": m} for m in alt.modifiers)
        if alt.why:
            sub.append({"url": "why", "valueString": alt.why})
        out.append({"url": EXT_ALTERNATIVE, "extension": sub})
    return out


def _subject(suggestion: Suggestion) -> dict[str, Any]:
    if suggestion.patient:
        return {"reference": suggestion.patient}
    if suggestion.patient_identifier:
        identifier: dict[str, Any] = _identifier(suggestion.patient_identifier)
        if suggestion.patient_assigner:
            identifier["assigner"] = {"display": suggestion.patient_assigner}
        return {"identifier": identifier}
    raise ValueError(
        f"case {suggestion.case!r}: no patient reference and no patient identifier "
        "(ChargeItem.subject is required)"
    )


def _identifier(token: str) -> dict[str, str]:
    """ "system|value" or a bare value -> FHIR Identifier ("|value" means: no system)."""
    if "|" in token:
        system, _, value = token.partition("|")
        return _drop_empty({"system": system, "value": value})
    return {"value": token}


def _evidence(evidence: tuple[str, ...], version: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    service: list[dict[str, Any]] = []
    supporting: list[dict[str, Any]] = []
    allowed = SERVICE_TYPES[version]
    for ev in dict.fromkeys(evidence):  # drop repeats, keep order
        kind, sep, rest = ev.partition("/")
        if sep and kind == "Series" and rest:
            supporting.append({
                "identifier": {"system": DICOM_UID_SYSTEM, "value": f"urn:oid:{rest}"},
                "display": "DICOM series",
            })
        elif sep and kind == "File" and rest:
            supporting.append({"display": f"file {rest}"})
        elif (rtype := _reference_type(ev)) in allowed:
            service.append({"reference": ev})
        elif rtype:
            supporting.append({"reference": ev})
        else:  # not a reference at all: keep it readable rather than drop it
            supporting.append({"display": ev})
    return service, supporting


def _reference_type(ref: str) -> str:
    m = _REFERENCE.search(ref)
    return m.group(1) if m else ""


def _notes(line: Line) -> list[dict[str, str]]:
    notes: list[dict[str, str]] = []
    if line.rationale.strip():
        notes.append({"text": line.rationale.strip()})
    docs = [d.strip() for d in line.documentation if d.strip()]
    checked = {c.item.strip(): c for c in line.documentation_check}
    if docs:
        notes.append({"text": "Documentation needed:\n" + "\n".join(f"- {d}{_found(checked.get(d))}" for d in docs)})
    if line.alternatives:
        rows = []
        for alt in line.alternatives:
            code = "-".join((alt.code, *alt.modifiers))
            rows.append(f"- {code}: {alt.why}" if alt.why else f"- {code}")
        notes.append({"text": "Alternatives:\n" + "\n".join(rows)})
    return notes


def _found(check: Any) -> str:
    """What the record shows for a documentation item: present (where) or missing; nothing when not checked."""
    if check is None:
        return ""
    return f" (present: {', '.join(check.evidence)})" if check.present else " (missing from the record)"


def _notice_notes(suggestion: Suggestion, line: Line) -> list[dict[str, str]]:
    """The case's notices about this line's code (global period, MUE cap, by report...), for the reviewer."""
    about = [n for n in suggestion.notices if line.code in n.codes or line.key in n.codes]
    return [{"text": f"Notice ({n.kind}): {n.message}"} for n in about]


def _drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in ("", None, [], {})}


# --- validation -----------------------------------------------------------------------------


def _models(version: str) -> dict[str, type]:
    if version == "R5":
        from fhir.resources.bundle import Bundle
        from fhir.resources.chargeitem import ChargeItem
    else:
        from fhir.resources.R4B.bundle import Bundle
        from fhir.resources.R4B.chargeitem import ChargeItem
    return {"Bundle": Bundle, "ChargeItem": ChargeItem}


def _check(resource: dict[str, Any], model: type, where: str, version: str) -> None:
    """Validate with fhir.resources, plus what it lets through: FHIR forbids empty elements."""
    empty = _empty_paths(resource, resource.get("resourceType", ""))
    if empty:
        raise RuntimeError(f"bug: {where}: empty FHIR element(s) {', '.join(empty)} ({version})")
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        raise RuntimeError(f"bug: {where} does not validate as FHIR {version} {model.__name__}: {exc}") from exc


def _empty_paths(node: Any, path: str) -> list[str]:
    if isinstance(node, dict):
        if not node:
            return [path]
        return [p for k, v in node.items() for p in _empty_paths(v, f"{path}.{k}")]
    if isinstance(node, list):
        if not node:
            return [path]
        return [p for i, v in enumerate(node) for p in _empty_paths(v, f"{path}[{i}]")]
    if node is None or (isinstance(node, str) and not node.strip()):
        return [path]
    return []
