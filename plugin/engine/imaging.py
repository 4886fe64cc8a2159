"""The images of a case: DICOM series and ImagingStudy series merged by Series UID and classified.

kind: cbct | ct | mr | pet (acquired 3D volumes), panoramic, cephalometric, photograph, surface
(OSS), derived (renderings, segmentations, secondary captures, M3D models), other.
Word lists and known devices come from mappings/<year>/devices.yaml.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from plugin import resources as fr
from plugin.case import Case
from plugin.evidence.model import DicomSeries
from plugin.mappings import Mappings

VOLUME_KINDS = ("cbct", "ct", "mr", "pet")
DERIVED_MODALITIES = {"OT", "SC", "SEG", "M3D", "PR", "RTSTRUCT"}


@dataclass
class Image:
    uid: str
    study_uid: str = ""
    modality: str = ""
    description: str = ""
    body_part: str = ""
    derived: bool = False
    diameter: float | None = None
    height: float | None = None
    contrast: bool | None = None
    station: str = ""
    serial: str = ""
    device: str = ""  # manufacturer + model, for messages
    institution: str = ""
    instances: int = 0
    study_ref: str = ""  # ImagingStudy/x when a FHIR ImagingStudy holds the series
    performers: list[str] = field(default_factory=list)
    interpreters: list[str] = field(default_factory=list)
    procedure_text: str = ""
    evidence: list[str] = field(default_factory=list)
    kind: str = "other"

    @property
    def text(self) -> str:
        return " ".join((self.description, self.procedure_text, self.body_part)).lower()


def inventory(case: Case, maps: Mappings) -> list[Image]:
    images: dict[str, Image] = {}
    for rec in (r for r in case.records if r.type == "ImagingStudy"):
        _from_study(rec.ref, rec.resource, case, images)
    for series in case.series:
        _from_dicom(series, images)
    for image in images.values():
        image.kind = classify(image, maps)
    return [images[k] for k in sorted(images)]


def _from_study(ref: str, study: dict, case: Case, images: dict[str, Image]) -> None:
    study_uid = next((v.removeprefix("urn:oid:") for s, v in fr.identifiers(study) if s == "urn:dicom:uid"), "")
    interpreters = [case.index.canonical(r) for r in fr.refs(study.get("interpreter"))]
    proc_text = " ".join(fr.texts(study.get("procedureCode")) + fr.texts(study.get("procedure")) + [study.get("description", "")])
    series_list = study.get("series") or [{"uid": ref, "modality": m} for m in (study.get("modality") or [])[:1]]
    for series in series_list:
        image = images.setdefault(series.get("uid", ref), Image(uid=series.get("uid", ref)))
        image.study_uid = image.study_uid or study_uid
        image.study_ref = ref
        image.modality = image.modality or fr.series_modality(series)
        image.description = image.description or series.get("description", "")
        image.body_part = image.body_part or " ".join(fr.texts(series.get("bodySite")) + [c.get("code", "") for c in fr.codings(series.get("bodySite"))])
        image.instances = max(image.instances, int(series.get("numberOfInstances") or 0))
        image.performers += [case.index.canonical(r) for r in fr.actor_refs(series)]
        image.interpreters += interpreters
        image.procedure_text = proc_text
        image.evidence.append(ref)


def _from_dicom(series: DicomSeries, images: dict[str, Image]) -> None:
    image = images.setdefault(series.series_uid, Image(uid=series.series_uid))
    image.study_uid = series.study_uid or image.study_uid
    image.modality = series.modality or image.modality
    image.description = series.series_description or image.description
    image.procedure_text = " ".join(x for x in (image.procedure_text, series.protocol_name) if x)
    image.body_part = series.body_part or image.body_part
    image.derived = image.derived or series.derived
    image.diameter, image.height, image.contrast = series.diameter_mm, series.height_mm, series.contrast
    image.station, image.serial, image.institution = series.station_name, series.device_serial, series.institution
    image.device = " ".join(x for x in (series.manufacturer, series.model_name) if x)
    image.instances = max(image.instances, series.instances)  # instances, not frames: a video clip is one image
    image.evidence.append(series.ref)


# ------------------------------------------------------------------------------------ classification
def classify(image: Image, maps: Mappings) -> str:
    modality = image.modality.upper()
    if modality == "OSS":
        return "surface"
    if image.derived or modality in DERIVED_MODALITIES or (modality in ("CT", "MR") and matches(maps, "derived_series", "keywords", image.description)):
        return "derived"
    if modality == "CT":
        return "cbct" if is_cbct(image, maps) else "ct"
    if modality in ("MR", "PT"):
        return {"MR": "mr", "PT": "pet"}[modality]
    if modality == "PX":
        return "panoramic"
    if modality in ("DX", "CR") and (matches(maps, "ceph", "keywords", image.text) or "skull" in image.text):
        return "cephalometric"
    if modality in ("DX", "CR") and re.search(r"\bpan(o|oramic)?\b", image.text):
        return "panoramic"
    return "photograph" if modality in ("XC", "VL", "ES") else "other"


def is_cbct(image: Image, maps: Mappings) -> bool:
    device = " ".join((image.device, image.station))
    return matches(maps, "cbct", "names", device) or matches(maps, "cbct", "keywords", image.text)


def matches(maps: Mappings, group: str, key: str, text: str) -> bool:
    return bool(text) and _pattern(tuple(maps.devices.get(group, {}).get(key, ()))).search(text.lower()) is not None


def matched_name(maps: Mappings, group: str, key: str, text: str) -> str:
    found = _pattern(tuple(maps.devices.get(group, {}).get(key, ()))).search(text.lower()) if text else None
    return found.group(0) if found else ""


@lru_cache(maxsize=256)
def _pattern(words: tuple[str, ...]) -> re.Pattern:
    if not words:
        return re.compile(r"(?!x)x")
    alternatives = sorted((re.escape(w.lower()) for w in words), key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alternatives) + r")(?![a-z0-9])")


def fov(image: Image, maps: Mappings) -> str:
    """CBCT field of view class from body part, description, diameter and height (settings.fov)."""
    cfg = maps.settings["fov"]
    parts, text = set(image.body_part.upper().split()) | {image.body_part.upper()}, image.text

    def said(key: str, words: str) -> bool:
        return bool(parts & set(cfg[key])) or _pattern(tuple(cfg[words])).search(text) is not None

    if said("tmj_body_parts", "tmj_words"):
        return "tmj"
    if image.diameter is not None and image.diameter < cfg["partial_below_diameter_mm"]:
        return "partial"
    if (image.height is not None and image.height >= cfg["one_jaw_below_height_mm"]) or said("both_jaws_body_parts", "both_words"):
        return "both-jaws"
    if said("mandible_body_parts", "mandible_words"):
        return "mandible"
    if said("maxilla_body_parts", "maxilla_words"):
        return "maxilla"
    return "unknown"


def contrast(images: list[Image], maps: Mappings) -> str:
    flags = [_contrast_of(i, maps) for i in images]
    if True in flags and False in flags:
        return "without-then-with"
    return "with" if True in flags else "none"


def _contrast_of(image: Image, maps: Mappings) -> bool:
    if matches(maps, "contrast", "without", image.text):
        return False
    if image.contrast is not None:
        return image.contrast
    return matches(maps, "contrast", "with", image.text)
