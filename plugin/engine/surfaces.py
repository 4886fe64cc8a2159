"""Which surface scan a mesh is: intraoral (D0801), model (D0802), facial (D0803), facial prosthesis (D0804),
or no scan of the patient at all (step ""): a size no anatomy has (settings.mesh scan_min_mm / face_max_mm),
software that exports segmentations or designs, or words naming one (devices.yaml not_a_scan).

Otherwise decided, strongest first, by words in the file's header / description (a cast, impression, prosthesis
said outright), the producing device (known scanners in devices.yaml), then geometry (settings.mesh:
an arch is 40-80 mm across, a face 120-250 mm). `strong` is False when only geometry or the default
decided, or the device (an intraoral scanner can scan an impression): such a scan then joins a recorded
surface-scan step of the same family (dental: intraoral/model; face: facial/prosthesis) if the case has one.
"""
from __future__ import annotations

from dataclasses import dataclass

from plugin.engine.imaging import matched_name, matches
from plugin.mappings import Mappings

FAMILY = {"intraoral-scan": "dental", "model-scan": "dental", "facial-scan": "face", "facial-prosthesis-scan": "face"}
STEP_BY_GROUP = {
    "facial_prosthesis": "facial-prosthesis-scan",
    "model_scanner": "model-scan",
    "facial_scanner": "facial-scan",
    "intraoral_scanner": "intraoral-scan",
}


@dataclass(frozen=True)
class ScanKind:
    step: str
    strong: bool
    device: str
    why: str


def classify_scan(original: str, largest_mm: float | None, maps: Mappings) -> ScanKind:
    """The scan kind of a mesh (memoized per mappings: a pure function of the header text and size)."""
    memo = maps.memo.setdefault("scan_kinds", {})
    key = (original, largest_mm)
    if key not in memo:
        if len(memo) >= 20_000:
            memo.clear()
        memo[key] = _classify(original, largest_mm, maps)
    return memo[key]


def _classify(original: str, largest_mm: float | None, maps: Mappings) -> ScanKind:
    text, shown = original.lower(), original.strip()[:60]
    not_scan = _not_a_scan(text, largest_mm, maps)
    if not_scan:
        return ScanKind("", True, shown, not_scan)
    for group in ("facial_prosthesis", "model_scanner", "facial_scanner"):
        if matches(maps, group, "keywords", text):
            return ScanKind(STEP_BY_GROUP[group], True, shown, f"says '{matched_name(maps, group, 'keywords', text)}'")
    for group in ("model_scanner", "facial_scanner", "intraoral_scanner"):
        name = matched_name(maps, group, "names", text)
        if name:
            return ScanKind(STEP_BY_GROUP[group], False, name, f"made by a known {group.replace('_', ' ')}")
    if matches(maps, "intraoral_scanner", "keywords", text):
        return ScanKind("intraoral-scan", True, shown, "describes an intraoral arch")
    return _by_geometry(largest_mm, maps)


def _not_a_scan(text: str, largest_mm: float | None, maps: Mappings) -> str:
    """Why a mesh is no scan of a patient, or '' (contract section 3: no D0801-D0804 for it)."""
    cfg = maps.settings["mesh"]
    if largest_mm is not None and largest_mm < cfg.get("scan_min_mm", 0):
        return f"{largest_mm:.3g} mm across: smaller than any scan of a patient"
    if largest_mm is not None and largest_mm > cfg["face_max_mm"]:
        return f"{largest_mm:.4g} mm across: larger than any scan of a patient"
    software = matched_name(maps, "not_a_scan", "names", text)
    if software:
        return f"made by '{software}', software that exports segmentations of CT/CBCT volumes or designs, not a scanner"
    words = matched_name(maps, "not_a_scan", "keywords", text)
    if words:
        return f"says '{words}': a segmentation or a designed appliance, not a scan of the patient"
    return ""


def _by_geometry(largest_mm: float | None, maps: Mappings) -> ScanKind:
    cfg = maps.settings["mesh"]
    if largest_mm is not None and cfg["face_min_mm"] <= largest_mm <= cfg["face_max_mm"]:
        return ScanKind("facial-scan", False, "", f"{largest_mm:.0f} mm across: face-sized")
    if largest_mm is not None and largest_mm <= cfg["arch_max_mm"]:
        return ScanKind("intraoral-scan", False, "", f"{largest_mm:.0f} mm across: arch-sized, device unknown")
    return ScanKind("intraoral-scan", False, "", "no device or geometry to tell; read as an intraoral scan")
