"""Scans attached to EHR documents (issue 8 part 3): which attachments of a DocumentReference (R4/R5
`content[].attachment`) or Media (R4 `content`, one Attachment) the pipeline fetches, as "fetch-attachment" events.

An attachment is fetched when its contentType is model/stl, application/sla, model/ply or application/dicom and
it has a `url` (`Binary/<id>`, or an absolute URL that must lie on FHIR_BASE_URL: checked when it is fetched,
ForeignUrl otherwise). The fetched file is read like a scanner export: a mesh joins the document's patient (its
subject) and encounter; a DICOM file its header's PatientID. Documents entered in error are not fetched.

Event body: {"url", "kind": "mesh-file"|"dicom-file", "media": type, "name", "patient", "encounter", "document"};
key: "attachment:<document>/_history/<version or content hash>:<url hash>", so a new version of the document
fetches again and a repeated notification does not.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from plugin import resources as fr
from plugin.errors import Unprocessable

MEDIA = {"model/stl": "mesh-file", "application/sla": "mesh-file", "model/ply": "mesh-file",
         "application/dicom": "dicom-file"}
SUFFIX = {"model/stl": ".stl", "application/sla": ".stl", "model/ply": ".ply", "application/dicom": ".dcm"}
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def fetches(items: list) -> list[tuple[str, bytes]]:
    """(dedup key, event body) for each attachment to fetch among the given FhirResources."""
    out = []
    for item in items:
        if item.type not in ("DocumentReference", "Media") or item.resource.get("status") == "entered-in-error":
            continue
        for index, att in enumerate(fr.attachments(item.resource)):
            media = str(att.get("contentType", "")).split(";", 1)[0].strip().lower()
            url = att.get("url")
            if media not in MEDIA or not isinstance(url, str) or not url.strip():
                continue
            spec = {"url": url.strip(), "kind": MEDIA[media], "media": media, "name": _name(item, att, index, media),
                    "patient": _typed(fr.subject_ref(item.resource), "Patient"),
                    "encounter": _typed(fr.encounter_ref(item.resource), "Encounter"),
                    "document": item.ref}
            out.append((_key(item, url), json.dumps(spec, sort_keys=True).encode()))
    return out


def _typed(ref: str, rtype: str) -> str:
    """A reference the pipeline can place ("Patient/p1", or an absolute URL ending so); "" otherwise (urn:uuid)."""
    return ref if ref and not ref.startswith("urn:") and f"{rtype}/" in ref else ""


def _name(item, att: dict, index: int, media: str) -> str:
    title = str(att.get("title") or "").strip()
    suffix = SUFFIX[media]
    if title:
        name = _SAFE.sub("_", title)[:100]
        return name if name.lower().endswith(suffix) else name + suffix
    rid = _SAFE.sub("_", str(item.resource.get("id") or "document"))[:60]
    return f"{item.type}-{rid}-{index}{suffix}"


def _key(item, url: str) -> str:
    version = (item.resource.get("meta") or {}).get("versionId") or hashlib.sha256(
        json.dumps(item.resource, sort_keys=True).encode()).hexdigest()[:32]
    return f"attachment:{item.ref}/_history/{version}:{hashlib.sha256(url.encode()).hexdigest()[:32]}"[:512]


def check_spec(spec: Any) -> None:
    if not (isinstance(spec, dict) and isinstance(spec.get("url"), str) and spec.get("kind") in ("mesh-file", "dicom-file")
            and all(isinstance(spec.get(k, ""), str) for k in ("name", "patient", "encounter", "media"))):
        raise Unprocessable('a "fetch-attachment" event holds {"url", "kind", "media", "name", "patient", "encounter"}',
                            "InvalidEvent")


def file_content_type(spec: dict) -> str:
    """The fetched mesh's content type with the document's patient and encounter (plugin/pipeline.py reads them)."""
    parts = [spec.get("media") or "model/stl", f'name="{_SAFE.sub("_", spec["name"])}"']
    for param in ("patient", "encounter"):
        value = spec.get(param, "")
        if value and '"' not in value and ";" not in value:
            parts.append(f'{param}="{value}"')
    return "; ".join(parts)
