"""The Provenance recorded with each posted ChargeItem: the plugin (a Device) as author, the evidence as entities.

    target   the ChargeItems ("ChargeItem/<id>" or ".../_history/<vid>")
    agent    type author; who = a logical Device reference (identifier DEVICE_SYSTEM|DEVICE_VALUE, the
             display given), so no Device resource has to exist on the server
    entity   role source; "Type/id" -> reference, "Series/<uid>" -> identifier urn:dicom:uid urn:oid:<uid>,
             "File/<name>" -> display "file <name>" (as ChargeItem.supportingInformation does)

R4 and R5 share this shape.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from plugin.ehr.base import RELATIVE_REFERENCE

DEVICE_SYSTEM = "https://dwcoder.org/fhir/sid/device"
DEVICE_VALUE = "digital-workflow-coder"
PARTICIPANT_TYPES = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DICOM_UID_SYSTEM = "urn:dicom:uid"


def build(targets: list[str], entities: list[str], device_display: str, recorded: datetime | None = None) -> dict[str, Any]:
    """A Provenance resource (JSON dict). ValueError for no target or a target that is not "Type/id"."""
    if not targets:
        raise ValueError("a Provenance needs at least one target")
    for target in targets:
        if not RELATIVE_REFERENCE.fullmatch(target):
            raise ValueError("a Provenance target must be a 'Type/id' reference on the FHIR base")
    when = (recorded or datetime.now(timezone.utc)).astimezone(timezone.utc)
    resource: dict[str, Any] = {
        "resourceType": "Provenance",
        "target": [{"reference": t} for t in dict.fromkeys(targets)],
        "recorded": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "agent": [{
            "type": {"coding": [{"system": PARTICIPANT_TYPES, "code": "author", "display": "Author"}]},
            "who": {
                "type": "Device",
                "identifier": {"system": DEVICE_SYSTEM, "value": DEVICE_VALUE},
                "display": device_display or DEVICE_VALUE,
            },
        }],
    }
    what = [_what(e) for e in dict.fromkeys(entities) if e]
    if what:
        resource["entity"] = [{"role": "source", "what": w} for w in what]
    return resource


def _what(evidence: str) -> dict[str, Any]:
    kind, sep, rest = evidence.partition("/")
    if sep and kind == "Series" and rest:
        return {"identifier": {"system": DICOM_UID_SYSTEM, "value": f"urn:oid:{rest}"}, "display": "DICOM series"}
    if sep and kind == "File" and rest:
        return {"display": f"file {rest}"}
    if RELATIVE_REFERENCE.fullmatch(evidence):
        return {"reference": evidence}
    return {"display": evidence}
