"""The images of a case: DICOM series and ImagingStudy series merged by Series UID and classified.

kind: cbct | ct | mr | pet (acquired 3D volumes), panoramic, cephalometric, photograph, surface
(OSS), derived (3D renderings: volume/surface rendering, MIP, segmentation, 3D models), reformat (a 2D view
that belongs to an acquisition: multiplanar or curved reformats, cross-sections, a panoramic or cephalometric
view reconstructed from a volume, a localizer), other.

How the header is read (contract section 3): `ImageType` value 2 `PRIMARY` is an acquired image whatever its
description says (ORIGINAL\\PRIMARY, or DERIVED\\PRIMARY after lossy compression or a re-export); a derived
secondary image is a rendering only with a sign of 3D work; words in descriptions decide only where the header
is silent (no ImageType). CBCT is told from medical CT by weighing the header's own evidence (`cbct_evidence`
in devices.yaml). Word lists, known devices, signals and their weights come from mappings/<year>/devices.yaml.
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
CODED_KINDS = {"cbct": "cbct", "ct": "ct", "panoramic-image": "panoramic", "cephalometric-image": "cephalometric",
               "photographs": "photograph"}  # workflow step a procedure code names -> image kind
DERIVED_MODALITIES = {"OT", "SC", "SEG", "M3D", "PR", "RTSTRUCT"}
MODEL_MODALITIES = {"SEG", "M3D"}  # a segmentation or a 3D model is 3D work by what it is
PLANAR_XRAY = {"PX", "DX", "CR", "IO"}


@dataclass
class Image:
    uid: str
    study_uid: str = ""
    modality: str = ""
    description: str = ""
    body_part: str = ""
    derived: bool = False
    image_type: tuple[str, ...] = ()  # DICOM ImageType values, upper case; () when the header is silent
    sop_class: str = ""
    acquisition: dict[str, str] = field(default_factory=dict)  # CT acquisition attributes written
    voxel: tuple[float, ...] = ()  # (row, column, slice) spacing in mm when measured
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
    coded_kind: str = ""  # the kind its ImagingStudy's procedure code names (terminology.yaml / codes.yaml)
    evidence: list[str] = field(default_factory=list)
    kind: str = "other"
    why: str = ""  # how the kind was decided (explanations and rationales)
    cbct_certain: bool = True  # False: the evidence for cone-beam vs medical CT was too weak to decide

    @property
    def text(self) -> str:
        return " ".join((self.description, self.procedure_text, self.body_part)).lower()

    @property
    def type_text(self) -> str:
        """ImageType values 3+ as words ("CURVED_MPR" -> "curved mpr"), for the word lists."""
        return " ".join(self.image_type[2:]).lower().replace("_", " ")


def inventory(case: Case, maps: Mappings) -> list[Image]:
    images: dict[str, Image] = {}
    for rec in (r for r in case.records if r.type == "ImagingStudy"):
        _from_study(rec.ref, rec.resource, case, images, coded_kind(rec.resource, maps))
    for series in case.series:
        _from_dicom(series, images)
    memo = maps.memo.setdefault("image_kinds", {})
    for image in images.values():
        key = _kind_key(image)
        if key not in memo:
            if len(memo) >= 20_000:
                memo.clear()
            memo[key] = _kind(image, maps)
        image.kind, image.why, image.cbct_certain = memo[key]
        if image.coded_kind and (image.kind == "other" or (image.kind, image.coded_kind) == ("ct", "cbct")):
            # the header is silent (or says only CT): the study's procedure code decides
            image.kind, image.why = image.coded_kind, "the study's procedure code names it"
    _reconstructed_views(list(images.values()), maps)
    return [images[k] for k in sorted(images)]


def coded_kind(study: dict, maps: Mappings) -> str:
    """The image kind an ImagingStudy's procedure code names (R4 `procedureCode`, R5 `procedure[].concept`), or ""."""
    for coding in fr.codings([study.get("procedureCode"), study.get("procedure")]):
        system, code = coding.get("system", ""), coding.get("code", "")
        entry = maps.concept(system, code) or ((maps.codes.get(code) or {}) if maps.system_uri(code) == system else {})
        step = entry.get("step") or (entry.get("recorded") or {}).get("step", "")
        if step in CODED_KINDS:
            return CODED_KINDS[step]
    return ""


def _kind(image: Image, maps: Mappings) -> tuple[str, str, bool]:
    kind, why = classify(image, maps)
    return _cone_beam_or_not(image, maps) if kind == "ct" else (kind, why, True)


def _kind_key(image: Image) -> tuple:
    """Everything classify and _cone_beam_or_not read: the kind is a pure function of it (memoized)."""
    return (image.modality, image.image_type, image.sop_class, image.derived, image.description, image.procedure_text,
            image.body_part, image.device, image.station, tuple(sorted(image.acquisition.items())), image.voxel)


def _from_study(ref: str, study: dict, case: Case, images: dict[str, Image], coded: str = "") -> None:
    study_uid = next((v.removeprefix("urn:oid:") for s, v in fr.identifiers(study) if s == "urn:dicom:uid"), "")
    interpreters = [case.index.canonical(r) for r in fr.refs(study.get("interpreter"))]
    proc_text = " ".join(fr.texts(study.get("procedureCode")) + fr.texts(study.get("procedure")) + [study.get("description", "")])
    series_list = study.get("series") or [{"uid": ref, "modality": m} for m in (study.get("modality") or [])[:1]]
    series_list = series_list or ([{"uid": ref}] if coded else [])  # only a procedure code: one image of that kind
    for series in series_list:
        image = images.setdefault(series.get("uid", ref), Image(uid=series.get("uid", ref)))
        image.study_uid = image.study_uid or study_uid
        image.study_ref = ref
        image.modality = image.modality or fr.series_modality(series)
        image.description = image.description or series.get("description", "")
        image.body_part = image.body_part or " ".join(fr.texts(series.get("bodySite")) + [c.get("code", "") for c in fr.codings(series.get("bodySite"))])
        image.instances = max(image.instances, int(series.get("numberOfInstances") or 0))
        image.performers += [case.index.canonical(r) for r in fr.actor_refs(series)]
        image.device = image.device or _performing_device(case, image.performers)
        image.interpreters += interpreters
        image.procedure_text = proc_text
        image.coded_kind = image.coded_kind or coded
        image.evidence.append(ref)


def _performing_device(case: Case, refs: list[str]) -> str:
    """Names and type of a Device that performed the series (ImagingStudy.series.performer), for the CBCT evidence."""
    devices = (case.index.get(ref) for ref in refs)
    return next((fr.device_words(d.resource) for d in devices if d is not None and d.type == "Device"), "")


def _from_dicom(series: DicomSeries, images: dict[str, Image]) -> None:
    image = images.setdefault(series.series_uid, Image(uid=series.series_uid))
    image.study_uid = series.study_uid or image.study_uid
    image.modality = series.modality or image.modality
    image.description = series.series_description or image.description
    image.procedure_text = " ".join(x for x in (image.procedure_text, series.protocol_name) if x)
    image.body_part = series.body_part or image.body_part
    image.derived = image.derived or series.derived
    image.image_type = tuple(v.upper() for v in series.image_type) or image.image_type
    image.sop_class = series.sop_class_uid or image.sop_class
    image.acquisition = dict(series.acquisition)
    image.voxel = series.voxel_mm
    image.diameter, image.height, image.contrast = series.diameter_mm, series.height_mm, series.contrast
    image.station, image.serial, image.institution = series.station_name, series.device_serial, series.institution
    image.device = " ".join(x for x in (series.manufacturer, series.model_name) if x)
    image.instances = max(image.instances, series.instances)  # instances, not frames: a video clip is one image
    image.evidence.append(series.ref)


# ------------------------------------------------------------------------------------ classification
def classify(image: Image, maps: Mappings) -> tuple[str, str]:
    """(kind, why). Medical CT here may still turn out cone-beam: see _cone_beam_or_not."""
    modality = image.modality.upper()
    if modality == "OSS":
        return "surface", "optical surface scan (OSS)"
    if image.sop_class in _list(maps, "cbct_evidence", "volume_sop_classes"):
        return "ct", f"SOP class {image.sop_class}: an X-ray 3D volume"
    values = image.image_type
    if "LOCALIZER" in values[2:]:
        return "reformat", "a localizer (scout) image: part of the acquisition, not a volume"
    if (len(values) >= 2 and values[1] == "PRIMARY") or values == ("ORIGINAL",):
        return _acquired(image, modality, maps, f"ImageType {'/'.join(values[:2])}: an acquired image")
    if modality in DERIVED_MODALITIES or len(values) >= 2 or image.derived:
        return _derived(image, modality, maps)
    if modality in ("CT", "MR") and (words := _words_kind(image, maps)):  # the header is silent: words decide
        return words
    if modality in PLANAR_XRAY and (reformat := matched_name(maps, "reformat", "keywords", image.text)):
        return "reformat", f"says '{reformat}': a view reconstructed from a volume, part of its code"
    return _acquired(image, modality, maps, "no ImageType: read by modality and description")


def _acquired(image: Image, modality: str, maps: Mappings, why: str) -> tuple[str, str]:
    if modality == "CT":
        return "ct", why
    if modality in ("MR", "PT"):
        return {"MR": "mr", "PT": "pet"}[modality], why
    if modality == "PX":
        return "panoramic", why
    if modality in ("DX", "CR") and (matches(maps, "ceph", "keywords", image.text) or "skull" in image.text):
        return "cephalometric", why
    if modality in ("DX", "CR") and re.search(r"\bpan(o|oramic)?\b", image.text):
        return "panoramic", why
    if modality in ("XC", "VL", "ES"):
        return "photograph", why
    if modality in DERIVED_MODALITIES:
        return _derived(image, modality, maps)
    return "other", why


def _derived(image: Image, modality: str, maps: Mappings) -> tuple[str, str]:
    """A derived secondary image: a 3D rendering only with a sign of 3D work; a 2D reformat is the acquisition's."""
    if modality in MODEL_MODALITIES:
        return "derived", f"{modality}: a segmentation or 3D model"
    found = _words_kind(image, maps)
    if found:
        return found
    if modality in PLANAR_XRAY:  # e.g. a processed panoramic radiograph: still that image (see _reconstructed_views)
        kind, _ = _acquired(image, modality, maps, "")
        return kind, "a derived secondary 2D radiograph"
    return "other", "a derived secondary image with no sign of 3D work (not a rendering)"


def _words_kind(image: Image, maps: Mappings) -> tuple[str, str] | None:
    """A rendering or a reformat by the words of ImageType values 3+ and the descriptions, else None."""
    text = " ".join((image.type_text, image.text))
    rendering = matched_name(maps, "rendering", "keywords", text)
    if rendering:
        return "derived", f"says '{rendering}': a 3D rendering"
    reformat = matched_name(maps, "reformat", "keywords", text)
    if reformat:
        return "reformat", f"says '{reformat}': a 2D reformat, part of the acquisition's code"
    return None


def _reconstructed_views(images: list[Image], maps: Mappings) -> None:
    """A derived (secondary) panoramic or cephalometric image made where a volume of the case was acquired
    (same study, station or device serial) is a view reconstructed from that volume: part of its code."""
    volumes = [i for i in images if i.kind in VOLUME_KINDS]
    for image in images:
        if image.kind not in ("panoramic", "cephalometric") or not _secondary(image):
            continue
        source = next((v for v in volumes if _same_source(image, v)), None)
        if source is not None:
            image.kind, image.why = "reformat", f"a derived {image.kind} view made from the {source.kind} volume"


def _secondary(image: Image) -> bool:
    return image.derived and (len(image.image_type) < 2 or image.image_type[1] != "PRIMARY")


def _same_source(image: Image, volume: Image) -> bool:
    pairs = ((image.study_uid, volume.study_uid), (image.station, volume.station), (image.serial, volume.serial))
    return any(a and a.lower() == b.lower() for a, b in pairs)


def is_cbct(image: Image, maps: Mappings) -> bool:
    return _cone_beam_or_not(image, maps)[0] == "cbct"


def _cone_beam_or_not(image: Image, maps: Mappings) -> tuple[str, str, bool]:
    """(kind, why, certain): the weighed evidence of devices.yaml `cbct_evidence` (see its `about`)."""
    cfg = maps.devices.get("cbct_evidence", {})
    score, said = 0.0, []
    for signal in cfg.get("signals", []):
        if _signal_holds(signal, image, maps):
            score += signal["weight"]
            said.append(f"{signal['says']} ({signal['weight']:+g})")
    evidence = "; ".join(said) or "nothing in the header tells cone-beam from medical CT"
    if score >= cfg.get("cbct_at", 2):
        return "cbct", f"cone-beam CT: {evidence}", True
    if score <= cfg.get("ct_at", -2):
        return "ct", f"medical-grade CT: {evidence}", True
    kind = "cbct" if score > 0 else "ct"
    return kind, f"{'cone-beam' if kind == 'cbct' else 'medical-grade'} CT, uncertain: {evidence}", False


def _signal_holds(signal: dict, image: Image, maps: Mappings) -> bool:
    test = signal["test"]
    if "sop_class" in test:
        return image.sop_class in test["sop_class"]
    if "device_group" in test:  # a known device (manufacturer / model / station)
        return matches(maps, test["device_group"], "names", " ".join((image.device, image.station)))
    if "device_words_group" in test:  # a model family named in the device strings
        return matches(maps, test["device_words_group"], "keywords", " ".join((image.device, image.station)))
    if "words_group" in test:  # words in the descriptions (series, protocol, procedure)
        return matches(maps, test["words_group"], "keywords", image.text)
    if "any_tag" in test:  # the header writes one of these acquisition attributes
        return any(tag in image.acquisition for tag in test["any_tag"])
    if "tag_words" in test:
        value = image.acquisition.get(test["tag_words"], "").lower().replace("_", " ")
        return _pattern(tuple(w.lower() for w in test["words"])).search(value) is not None
    if "isotropic_voxel_below_mm" in test:
        voxel = image.voxel
        return bool(voxel) and max(voxel) < test["isotropic_voxel_below_mm"] and \
            max(voxel) - min(voxel) <= test.get("tolerance_mm", 0.01)
    return _ranges_hold(test["ranges"], image)


def _ranges_hold(ranges: dict, image: Image) -> bool:
    """Every named attribute is a measured number (> 0) within its {min, max}."""
    for tag, bounds in ranges.items():
        value = _number(image.acquisition.get(tag, ""))
        if value is None or value <= 0 or value < bounds.get("min", value) or value > bounds.get("max", value):
            return False
    return True


def _number(text: str) -> float | None:
    try:
        return float(text.split("\\")[0])
    except ValueError:
        return None


def region(image: Image, maps: Mappings) -> str:
    """head-neck | outside | unknown, from BodyPartExamined / bodySite (devices.yaml body_region)."""
    memo = maps.memo.setdefault("body_region", {})
    if image.body_part not in memo:
        memo[image.body_part] = _region_of(image.body_part, maps)
    return memo[image.body_part]


def _region_of(body_part: str, maps: Mappings) -> str:
    parts = {p for p in re.split(r"[\s\\,]+", body_part.upper()) if p} | {body_part.upper().strip()}
    parts.discard("")
    if parts & {str(v).upper() for v in _list(maps, "body_region", "head_neck")}:
        return "head-neck"
    if parts & {str(v).upper() for v in _list(maps, "body_region", "outside")}:
        return "outside"
    return "unknown"


def _list(maps: Mappings, group: str, key: str) -> list:
    return maps.devices.get(group, {}).get(key, [])


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
    """Field of view class by measured size and body part (settings.fov), never TMJ: a TMJ series is two or
    more TMJ exposures (see tmj_exposure), decided over a case's images in engine/facts.py."""
    cfg = maps.settings["fov"]
    if image.diameter is not None and image.diameter < cfg["partial_below_diameter_mm"]:
        return "partial"
    if _both_jaws(image, cfg):
        return "both-jaws"
    if _said(image, cfg, "mandible_body_parts", "mandible_words"):
        return "mandible"
    if _said(image, cfg, "maxilla_body_parts", "maxilla_words"):
        return "maxilla"
    return "unknown"


def tmj_exposure(image: Image, maps: Mappings) -> bool:
    """An exposure of the joints: BodyPartExamined / bodySite TMJ (TMJ words only where the body part is
    silent), and not a volume measured or declared as both jaws (which includes the joints: both jaws)."""
    cfg = maps.settings["fov"]
    marked = bool(_parts(image) & set(cfg["tmj_body_parts"])) or (
        not image.body_part.strip() and _pattern(tuple(cfg["tmj_words"])).search(image.text) is not None)
    return marked and not _both_jaws(image, cfg)


def _both_jaws(image: Image, cfg: dict) -> bool:
    tall = image.height is not None and image.height >= cfg["one_jaw_below_height_mm"]
    return tall or _said(image, cfg, "both_jaws_body_parts", "both_words")


def _said(image: Image, cfg: dict, key: str, words: str) -> bool:
    return bool(_parts(image) & set(cfg[key])) or _pattern(tuple(cfg[words])).search(image.text) is not None


def _parts(image: Image) -> set[str]:
    return set(image.body_part.upper().split()) | {image.body_part.upper()}


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
