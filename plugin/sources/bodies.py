"""Body kinds by content type, and the checks a webhook body passes before it is stored.

    application/fhir+json, application/json   "fhir"        (JSON that is DICOM JSON becomes "dicom-json")
    application/dicom+json                     "dicom-json"  (PS3.18 Annex F; each dataset needs the tags the reader needs)
    application/dicom                          "dicom-file"  (Part 10: 'DICM' at byte 128)
    model/stl, application/sla                 "mesh-file"   (binary STL of the right size, or ASCII "solid")
    model/ply                                  "mesh-file"   ("ply" header)
    application/octet-stream                   by the filename in Content-Disposition (.dcm, .stl, .ply)

Anything else is 415; a body of the right type that is not what it claims is 400 or 422.
"""
from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugin.errors import SourceRefused
from plugin.evidence import dicom
from plugin.sources.fhir_check import check_resource

JSON_TYPES = {"application/fhir+json": "fhir", "application/json": "fhir", "application/dicom+json": "dicom-json"}
FILE_TYPES = {"application/dicom": "dicom-file", "model/stl": "mesh-file", "application/sla": "mesh-file",
              "model/ply": "mesh-file"}
SUFFIX_TYPES = {".dcm": "application/dicom", ".dicom": "application/dicom", ".stl": "model/stl",
                ".ply": "model/ply"}
_FILENAME_RE = re.compile(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', re.IGNORECASE)


@dataclass(frozen=True)
class Body:
    kind: str             # EventIn.kind
    content_type: str     # normalized media type
    data: Any = None      # parsed JSON for JSON kinds


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def file_media_type(content_type: str | None, disposition: str | None) -> str:
    """The media type, resolving application/octet-stream by the filename's suffix."""
    mtype = media_type(content_type)
    if mtype in ("application/octet-stream", "") and disposition:
        match = _FILENAME_RE.search(disposition)
        if match:
            return SUFFIX_TYPES.get(Path(match[1].strip()).suffix.lower(), mtype)
    return mtype


def with_file_params(body: Body, content_type: str | None, disposition: str | None) -> str:
    """The stored content type of a body: for a file, its media type with the sender's parameters (`name`, and
    the `encounter` / `patient` the file belongs to), the filename of Content-Disposition as `name` when the
    parameters give none; bounded in length. JSON bodies keep the bare media type."""
    if body.data is not None or body.kind not in FILE_TYPES.values():
        return body.content_type
    params = [p.strip() for p in (content_type or "").split(";")[1:] if "=" in p][:8]
    if disposition and not any(p.lower().startswith("name=") for p in params):
        match = _FILENAME_RE.search(disposition)
        if match:
            params.append(f'name="{Path(match[1].strip()).name}"')
    return "; ".join([body.content_type, *params])[:512]


def check_media_type(mtype: str) -> None:
    if mtype not in JSON_TYPES and mtype not in FILE_TYPES:
        raise SourceRefused(415, "not-supported", "unsupported media type: send FHIR JSON, DICOM JSON, "
                            "application/dicom, model/stl or model/ply (or octet-stream with a filename)")


def parse_json(raw: bytes) -> Any:
    """Parsed JSON; SourceRefused(400) for anything else (no character of the body is echoed)."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" at byte {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise SourceRefused(400, "structure", f"body is not valid JSON{where}") from None


def webhook_body(mtype: str, raw: bytes) -> Body:
    """The checked body of a webhook (its kind and, for JSON, the parsed data)."""
    check_media_type(mtype)
    if mtype in JSON_TYPES:
        data = parse_json(raw)
        if mtype == "application/dicom+json" or dicom.looks_like_dicom_json(data):
            check_dicom_json(data)
            return Body("dicom-json", "application/dicom+json", data)
        check_fhir_body(data)
        return Body("fhir", "application/fhir+json", data)
    kind = FILE_TYPES[mtype]
    _check_file(mtype, raw)
    return Body(kind, mtype)


def check_fhir_body(data: Any) -> None:
    """A resource, a Bundle whose entry resources are valid, or a JSON list of resources."""
    items = data if isinstance(data, list) else [data]
    if not items:
        raise SourceRefused(422, "required", "body holds no FHIR resource")
    for index, item in enumerate(items):
        root = f"[{index}]" if isinstance(data, list) else ""
        if isinstance(item, dict) and item.get("resourceType") == "Bundle":
            check_bundle(item, root or "Bundle")
        else:
            check_resource(item, root)


def check_bundle(bundle: dict, where: str = "Bundle") -> None:
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise SourceRefused(422, "structure", f"invalid Bundle: {where}.entry: not a list", expression=f"{where}.entry")
    for index, entry in enumerate(entries):
        path = f"{where}.entry[{index}]"
        if not isinstance(entry, dict):
            raise SourceRefused(422, "structure", f"invalid Bundle: {path}: not an object", expression=path)
        resource = entry.get("resource")
        if isinstance(resource, dict) and resource.get("resourceType") == "Bundle":
            check_bundle(resource, f"{path}.resource")
        elif resource is not None:
            check_resource(resource, f"{path}.resource")


def check_dicom_json(data: Any) -> None:
    """Every dataset has the tags the reader needs; SourceRefused(422) naming the dataset and the tags."""
    result = dicom.read_dicom_json(Path("body"), data)
    if result.problems:
        message = result.problems[0].message
        raise SourceRefused(422, "invalid", f"DICOM JSON: {message}")
    if not result.evidence:
        raise SourceRefused(422, "required", "DICOM JSON holds no dataset")


def _check_file(mtype: str, raw: bytes) -> None:
    if mtype == "application/dicom" and raw[128:132] != b"DICM":
        raise SourceRefused(422, "invalid", "not a DICOM Part 10 file (no 'DICM' at byte 128)")
    if mtype == "model/ply" and not raw.startswith(b"ply"):
        raise SourceRefused(422, "invalid", "not a PLY file (no 'ply' header)")
    if mtype in ("model/stl", "application/sla") and not _looks_like_stl(raw):
        raise SourceRefused(422, "invalid", "not an STL file (neither ASCII 'solid' nor a binary STL of matching size)")


def _looks_like_stl(raw: bytes) -> bool:
    if len(raw) >= 84 and 84 + 50 * struct.unpack_from("<I", raw, 80)[0] == len(raw):
        return True
    return raw.lstrip()[:5].lower() == b"solid" and b"facet" in raw[:4096].lower()
