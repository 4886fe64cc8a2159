"""Is an exported file complete? Checked once its size and mtime have stayed the same for a few polls.

    STL binary   84 + 50 x (triangle count in the header) bytes, exactly
    STL ASCII    starts with "solid" and its last line is "endsolid [name]"
    PLY          a header ending in "end_header"
    DICOM        Part 10 ("DICM" at byte 128) whose header (everything before Pixel Data) pydicom reads

`check(path)` returns "" when complete, else the reason (kept by the watcher: a file still incomplete after
SCANNER_TRUNCATED_AFTER_S is taken anyway, so that the pipeline dead-letters it with the reader's reason).
"""
from __future__ import annotations

import struct
from pathlib import Path

MESH_SUFFIXES = frozenset({".stl", ".ply"})
DICOM_SUFFIXES = frozenset({".dcm", ".dicom"})
_TAIL = 512
_PLY_HEADER_MAX = 64 * 1024


def kind_of(path: Path) -> str:
    """"mesh-file", "dicom-file" or "" (not a file the watcher takes; suffix-less files are DICOM if 'DICM' at 128)."""
    suffix = path.suffix.lower()
    if suffix in MESH_SUFFIXES:
        return "mesh-file"
    if suffix in DICOM_SUFFIXES:
        return "dicom-file"
    if suffix == "" and _dicm(path):
        return "dicom-file"
    return ""


def check(path: Path) -> str:
    try:
        suffix = path.suffix.lower()
        if suffix == ".stl":
            return _stl(path)
        if suffix == ".ply":
            return _ply(path)
        return _dicom(path)
    except OSError as exc:
        return f"cannot be read ({type(exc).__name__})"


def _stl(path: Path) -> str:
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(84)
        if len(head) == 84:
            (count,) = struct.unpack_from("<I", head, 80)
            if 84 + 50 * count == size:
                return ""
        if head.lstrip()[:5].lower() == b"solid":
            fh.seek(max(0, size - _TAIL))
            tail = fh.read().rstrip().lower()
            last = tail.rsplit(b"\n", 1)[-1].strip()
            if last.startswith(b"endsolid"):
                return ""
            if b"facet" in head.lower() or b"facet" in tail:
                return "ASCII STL whose last line is not 'endsolid' (truncated, or still being written)"
    if size < 84:
        return f"STL of {size} bytes: shorter than the 84-byte binary header"
    return (f"binary STL of {size} bytes, but its header announces {count} triangles "
            f"({84 + 50 * count} bytes): truncated, or still being written")


def _ply(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(_PLY_HEADER_MAX)
    if not head.startswith(b"ply"):
        return "PLY without the 'ply' first line"
    if b"end_header" not in head:
        return "PLY whose header has no 'end_header' (truncated, or still being written)"
    return ""


def _dicm(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            fh.seek(128)
            return fh.read(4) == b"DICM"
    except OSError:
        return False


def _dicom(path: Path) -> str:
    if not _dicm(path):
        return "not DICOM Part 10 (no 'DICM' at byte 128)"
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, EOFError, ValueError, struct.error, OSError) as exc:
        return f"DICOM header cannot be read ({type(exc).__name__}: truncated, or still being written)"
    if "SOPInstanceUID" not in ds:
        return "DICOM header without SOPInstanceUID"
    return ""


def dicom_patient_id(path: Path) -> str:
    """The header's PatientID ("" when absent or unreadable)."""
    import pydicom

    try:
        return str(pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["PatientID"]).get("PatientID", "")).strip()
    except Exception:  # noqa: BLE001 - unreadable: the caller holds the file as unmatched
        return ""
