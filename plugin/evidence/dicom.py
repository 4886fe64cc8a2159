"""DICOM header reader: Part 10 files and DICOM JSON (PS3.18 Annex F) -> one `DicomSeries` per series.

Coding needs header facts only: who acquired a series (Manufacturer, ManufacturerModelName, StationName,
DeviceSerialNumber, InstitutionName), what it is (Modality, ImageType, SeriesDescription, ProtocolName,
BodyPartExamined, ContrastBolusAgent) and how big it is (ReconstructionDiameter or Rows/Columns x PixelSpacing,
slice positions). None of that is in the pixel data, so pixel data is never read: a 300-slice CBCT is 150 MB
of pixels and a few hundred KB of headers. A file that is parsed is parsed by pydicom up to, never into, Pixel
Data, keeping only the tags in `TAGS`: `read_partial` (what `dcmread(stop_before_pixels=True, specific_tags=...)`
calls) with a `stop_when` that stops at Pixel Data and also notes where each element ends, because pydicom
accepts a header cut short without complaint.

One file per series is enough where the series agrees. Per directory the first file (by name) is parsed; every
other file is read as a short prefix (the parsed file's header length + 1 KiB) and matched to a parsed file by
transfer syntax and the exact bytes of its SeriesInstanceUID element(s); its ImagePositionPatient comes from the
same prefix, and its Pixel Data element header must declare the same length and fit in the file (so a file cut
short is caught without parsing it). A file that does not match is parsed, and becomes a match target in turn:
it may belong to another series (a folder holding several), or be corrupt.

A file is unusable (a `Problem`, reason "InvalidDicom", never an exception) when it is not Part 10 DICOM, its
header is cut inside a data element, it lacks SeriesInstanceUID or Modality, or (uncompressed transfer syntaxes)
its Pixel Data is shorter than Rows x Columns x SamplesPerPixel x NumberOfFrames x BitsAllocated / 8 or runs past
the end of the file. A file without Pixel Data (a header-only export) is read. Messages never quote header values
(no patient data): a pydicom error is named by its type only.
"""
from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from pydicom.dataset import Dataset
from pydicom.filereader import read_partial
from pydicom.tag import Tag
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ExplicitVRLittleEndian
from pydicom.uid import ImplicitVRLittleEndian

from plugin.errors import InvalidDicom
from plugin.evidence.model import DicomSeries, Problem, ReadResult

KEYWORDS = (
    "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID", "PatientID", "StudyDate", "SeriesDate", "Modality",
    "Manufacturer", "ManufacturerModelName", "StationName", "DeviceSerialNumber", "InstitutionName", "ImageType",
    "SeriesDescription", "ProtocolName", "BodyPartExamined", "ContrastBolusAgent", "ReconstructionDiameter",
    "Rows", "Columns", "PixelSpacing", "SliceThickness", "SpacingBetweenSlices", "ImagePositionPatient",
    "ImageOrientationPatient", "NumberOfFrames", "SamplesPerPixel", "BitsAllocated", "PhotometricInterpretation",
    "ImagesInAcquisition", "IssuerOfPatientID",
)
# CT acquisition attributes kept as evidence of the kind of unit (cone-beam or medical CT): which of them a
# header writes, and their values, are weighed by the `cbct_evidence` signals of mappings/<year>/devices.yaml
# (whose schema allows exactly these names).
ACQUISITION = (
    "KVP", "ExposureTime", "XRayTubeCurrent", "Exposure", "ScanOptions", "DataCollectionDiameter",
    "ReconstructionDiameter", "CTDIvol", "SpiralPitchFactor", "GantryDetectorTilt", "ConvolutionKernel", "FilterType",
    "TableHeight", "RevolutionTime", "SingleCollimationWidth", "TotalCollimationWidth", "TableSpeed",
    "TableFeedPerRotation",
)
TAGS = [Tag(keyword) for keyword in dict.fromkeys(KEYWORDS + ACQUISITION)]
REQUIRED = ("SeriesInstanceUID", "Modality")
PREFIX_SLACK = 1024  # prefix read = the parsed file's header + this (headers of one series differ a little)

_JSON_KEYS = {f"{int(tag):08X}" for tag in TAGS}
_HALF_CHROMA = ("YBR_FULL_422", "YBR_PARTIAL_422")  # 4:2:2 chroma: 2 samples' worth per pixel, not 3
_HEX8 = re.compile(r"[0-9A-Fa-f]{8}\Z")
_PIXEL_TAGS = {0x7FE00008, 0x7FE00009, 0x7FE00010}  # float, double float, Pixel Data
_PIXEL_DATA = 0x7FE00010
_UNDEFINED = 0xFFFFFFFF
_UNCOMPRESSED = {ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian}
_NOT_DICOM = "not a DICOM Part 10 file (no 'DICM' marker at byte 128)"


def _element(tag: bytes, vr: bytes, explicit: bool) -> re.Pattern[bytes]:
    """Pattern of a little-endian element header; group 1 is the value length.

    Implicit VR: tag, 4-byte length. Explicit VR: tag, VR, 2-byte length; for O* VRs (`vr` may be a regex such
    as b"O[BW]") tag, VR, 2 reserved bytes, 4-byte length.
    """
    if not explicit:
        return re.compile(re.escape(tag) + rb"(.{4})", re.S)
    if vr.startswith(b"O"):
        return re.compile(re.escape(tag) + vr + rb"\0\0(.{4})", re.S)
    return re.compile(re.escape(tag) + vr + rb"(.{2})", re.S)


_TRANSFER_SYNTAX = _element(b"\x02\x00\x10\x00", b"UI", explicit=True)  # file meta: always explicit VR
_PATTERNS = {  # explicit VR?: (Pixel Data, SeriesInstanceUID, ImagePositionPatient, PatientID)
    explicit: (_element(b"\xe0\x7f\x10\x00", b"O[BW]", explicit), _element(b"\x20\x00\x0e\x00", b"UI", explicit),
               _element(b"\x20\x00\x32\x00", b"DS", explicit), _element(b"\x10\x00\x20\x00", b"LO", explicit))
    for explicit in (True, False)
}


@dataclass(frozen=True)
class _Instance:
    """One file (or one JSON dataset) placed in a series; `header` is set where it was fully parsed."""

    source: str
    series_uid: str
    position: tuple[float, ...] | None
    header: Dataset | None = None
    patient_id: str = ""  # a series is one patient's: files sharing a SeriesInstanceUID across patients stay apart


@dataclass(frozen=True)
class _Rep:
    """A parsed file that unparsed files of its directory are matched to."""

    series_uid: str
    pixel_length: int
    has_position: bool
    patient_id: str = ""


@dataclass(frozen=True)
class _Scan:
    """What a prefix says: the match key, where Pixel Data's value starts, its length, the slice position."""

    key: tuple
    value_start: int
    pixel_length: int
    position: tuple[float, ...] | None


class _PixelElement(NamedTuple):
    tag: int
    length: int  # as declared; _UNDEFINED for encapsulated (compressed) pixel data
    value_start: int  # file offset of the value
    end: int | None  # value_start + length, None when undefined


class _Walk:
    """`stop_when` for read_partial: stops at Pixel Data and remembers where top-level elements end."""

    def __init__(self, fp: Any) -> None:
        self.fp = fp
        self.elements = 0
        self.end: int | None = None  # where the last element before Pixel Data ends (None: undefined length)
        self.pixel: _PixelElement | None = None

    def __call__(self, tag: int, vr: str | None, length: int) -> bool:
        start = self.fp.tell()  # pydicom asks before reading the value: the value starts here
        end = None if length == _UNDEFINED else start + length
        if tag in _PIXEL_TAGS:
            self.pixel = _PixelElement(int(tag), length, start, end)
            return True
        self.elements, self.end = self.elements + 1, end
        return False


# ---------------------------------------------------------------- public API


def is_dicom_file(path: Path) -> bool:
    """True when the file has the Part 10 'DICM' marker at byte 128 (reads 132 bytes)."""
    try:
        with open(path, "rb", buffering=0) as fp:  # unbuffered: the one read asks for 132 bytes, not a block
            return fp.read(132)[128:] == b"DICM"
    except OSError:
        return False


def read_dicom_files(paths: list[Path]) -> ReadResult:
    """Part 10 files -> one DicomSeries per SeriesInstanceUID (sorted by UID) and a Problem per unusable file.

    pydicom warns (UserWarning) about malformed values it still converts (an IS of '1A'); those warnings are
    silenced here, so none reaches stderr raw: a value that cannot be used is unknown, one that breaks the file
    is a Problem.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _read_files(paths)


def _read_files(paths: list[Path]) -> ReadResult:
    folders: dict[str, list[str]] = {}
    for path in dict.fromkeys(map(os.fspath, paths)):  # plain strings: this loop runs once per slice
        folders.setdefault(os.path.dirname(path), []).append(path)
    members: list[_Instance] = []
    problems: list[Problem] = []
    for folder in sorted(folders):
        found, failed = _read_folder(sorted(folders[folder], key=os.path.basename))
        members += found
        problems += failed
    return ReadResult(evidence=list(_group(members)), problems=sorted(problems, key=lambda p: p.source))


def read_dicom_json(path: Path, data: Any) -> ReadResult:
    """A DICOM JSON dataset, or a list of them (WADO-RS metadata), already parsed from `path`."""
    with warnings.catch_warnings():  # as read_dicom_files: pydicom's value warnings never reach stderr
        warnings.simplefilter("ignore")
        return _read_json(path, data)


def _read_json(path: Path, data: Any) -> ReadResult:
    items = data if isinstance(data, list) else [data]
    members: list[_Instance] = []
    problems: list[Problem] = []
    for index, item in enumerate(items):
        try:
            members.append(_json_instance(str(path), item))
        except InvalidDicom as err:
            where = f"dataset {index}: " if isinstance(data, list) else ""
            problems.append(Problem(source=str(path), reason=err.reason, message=where + str(err)))
    return ReadResult(evidence=list(_group(members)), problems=problems)


def looks_like_dicom_json(data: Any) -> bool:
    """A dict (or non-empty list of dicts) keyed by 8 hex digits with {"vr": ...} values."""
    items = data if isinstance(data, list) else [data]
    return bool(items) and all(_is_json_dataset(item) for item in items)


def _is_json_dataset(item: Any) -> bool:
    return isinstance(item, dict) and bool(item) and all(
        isinstance(key, str) and _HEX8.match(key) and isinstance(value, dict) and "vr" in value
        for key, value in item.items()
    )


# ---------------------------------------------------------------- Part 10 files


def _read_folder(files: list[str]) -> tuple[list[_Instance], list[Problem]]:
    """Parse a file only where no parsed file of the folder matches its prefix (see module docstring)."""
    reps: dict[tuple[bytes, ...], _Rep] = {}
    found: list[_Instance] = []
    problems: list[Problem] = []
    prefix = 0
    for path in files:
        instance = _match(path, reps, prefix) if reps else None
        if instance is None:
            try:
                instance, scan = _parse(path)
            except InvalidDicom as err:
                problems.append(Problem(source=path, reason=err.reason, message=str(err)))
                continue
            if scan is not None:
                reps.setdefault(scan.key, _Rep(instance.series_uid, scan.pixel_length, scan.position is not None,
                                                instance.patient_id))
                prefix = max(prefix, scan.value_start + PREFIX_SLACK)
        found.append(instance)
    return found, problems


def _match(path: str, reps: dict[tuple[bytes, ...], _Rep], prefix: int) -> _Instance | None:
    """The file as a member of a parsed file's series, from its first `prefix` bytes; None: parse it."""
    try:
        fd = os.open(path, os.O_RDONLY)  # no buffered file object: this runs once per slice
        try:
            size, head = os.fstat(fd).st_size, os.read(fd, prefix)
        finally:
            os.close(fd)
    except OSError:
        return None
    if head[128:132] != b"DICM":
        return None
    for scan in _scans(head):
        rep = reps.get(scan.key)
        if rep is None or rep.pixel_length != scan.pixel_length or rep.has_position != (scan.position is not None):
            continue
        if scan.pixel_length == _UNDEFINED or scan.value_start + scan.pixel_length <= size:
            return _Instance(path, rep.series_uid, scan.position, patient_id=rep.patient_id)
    return None


def _parse(path: str) -> tuple[_Instance, _Scan | None]:
    """Parse one file's header up to Pixel Data (raises InvalidDicom); the scan makes it a match target."""
    try:
        with open(path, "rb") as fp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            size = os.fstat(fp.fileno()).st_size
            if fp.read(132)[128:] != b"DICM":
                raise InvalidDicom(_NOT_DICOM)
            fp.seek(0)
            walk = _Walk(fp)
            ds = read_partial(fp, stop_when=walk, specific_tags=TAGS)
            deflated = ds.file_meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian
            head = b"" if deflated else _read_head(fp, walk)  # deflated: offsets are in the inflated stream
    except OSError as exc:
        raise InvalidDicom(f"cannot read the file ({type(exc).__name__})") from exc
    except (InvalidDicom, MemoryError):
        raise
    except Exception as exc:  # pydicom raises many types on corrupt input; each is one unusable file
        raise InvalidDicom(f"cannot parse the DICOM header, truncated or corrupt ({_name(exc)})") from exc
    if not deflated:
        _check_complete(ds, walk, size, ds.file_meta.get("TransferSyntaxUID"))
    instance = _instance(path, ds)
    return instance, _rep_scan(head, walk)


def _read_head(fp: Any, walk: _Walk) -> bytes:
    """The bytes before Pixel Data's value (empty when there is none), to match other files against."""
    if walk.pixel is None:
        return b""
    fp.seek(0)
    return fp.read(walk.pixel.value_start)


def _rep_scan(head: bytes, walk: _Walk) -> _Scan | None:
    if not head or walk.pixel is None or walk.pixel.tag != _PIXEL_DATA:
        return None
    return next((scan for scan in _scans(head) if scan.value_start == len(head)), None)


def _check_complete(ds: Dataset, walk: _Walk, size: int, transfer_syntax: Any) -> None:
    """Raise InvalidDicom when the header is cut inside an element or Pixel Data is short (uncompressed)."""
    if walk.elements == 0 and walk.pixel is None:
        raise InvalidDicom("truncated: no data elements after the file meta information")
    if walk.pixel is None:
        if walk.end is not None and walk.end != size:
            raise InvalidDicom(f"truncated: the header is cut inside a data element (file has {size} bytes)")
        return
    tag, length, _, end = walk.pixel
    if tag != _PIXEL_DATA or end is None or transfer_syntax not in _UNCOMPRESSED:
        return
    if end > size:
        raise InvalidDicom(f"truncated: Pixel Data declares {length} bytes but only {size - (end - length)} remain")
    expected = _expected_pixel_bytes(ds)
    if expected and length < expected:
        raise InvalidDicom(f"truncated: Pixel Data has {length} bytes, the image needs {expected}")


def _expected_pixel_bytes(ds: Dataset) -> int | None:
    """Rows x Columns x SamplesPerPixel x NumberOfFrames x BitsAllocated / 8 (None if a factor is missing).

    Uncompressed YBR_FULL_422 / YBR_PARTIAL_422 keep two chroma samples per pair of pixels (PS3.3 C.7.6.3.1.2):
    two thirds of the RGB size.
    """
    rows, cols, bits = _int(ds.get("Rows")), _int(ds.get("Columns")), _int(ds.get("BitsAllocated"))
    if not (rows and cols and bits):
        return None
    samples, frames = _int(ds.get("SamplesPerPixel")) or 1, _int(ds.get("NumberOfFrames")) or 1
    if samples == 3 and _text(ds, "PhotometricInterpretation").upper() in _HALF_CHROMA:
        samples = 2
    return (rows * cols * samples * frames * bits + 7) // 8


def _name(exc: BaseException) -> str:
    """The exception's type, never its text (which may quote header values, i.e. patient data)."""
    kind = type(exc)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


# ---------------------------------------------------------------- prefix scanning (no pydicom: bytes only)


def _scans(head: bytes) -> Iterator[_Scan]:
    """One candidate per Pixel Data element header found in `head` (usually one; an icon image adds one)."""
    transfer_syntax = next(_values(_TRANSFER_SYNTAX, head), None)
    if transfer_syntax is None:
        return
    uid = transfer_syntax.rstrip(b"\0 ")
    if uid in (ExplicitVRBigEndian.encode(), DeflatedExplicitVRLittleEndian.encode()):
        return
    pixel_data, series_uid, position, patient_id = _PATTERNS[uid != ImplicitVRLittleEndian.encode()]
    for start, length in _headers(pixel_data, head):
        header = head[:start]
        series = tuple(value.rstrip(b"\0 ") for value in _values(series_uid, header))
        patient = tuple(value.rstrip(b"\0 ") for value in _values(patient_id, header))
        yield _Scan((uid, series, patient), start, length, _position(next(_values(position, header), None)))


def _headers(pattern: re.Pattern[bytes], buf: bytes) -> Iterator[tuple[int, int]]:
    """(value start, value length) of each element header `pattern` finds in `buf`."""
    for match in pattern.finditer(buf):
        yield match.end(), int.from_bytes(match.group(1), "little")


def _values(pattern: re.Pattern[bytes], buf: bytes) -> Iterator[bytes]:
    for start, length in _headers(pattern, buf):
        if start + length <= len(buf):
            yield buf[start:start + length]


def _position(value: bytes | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        numbers = tuple(float(part) for part in value.decode("ascii").strip("\0 ").split("\\"))
    except (UnicodeDecodeError, ValueError):
        return None
    return numbers if len(numbers) == 3 else None


# ---------------------------------------------------------------- DICOM JSON


def _json_instance(source: str, item: Any) -> _Instance:
    if not isinstance(item, dict):
        raise InvalidDicom("not a DICOM JSON dataset (expected an object keyed by tag)")
    wanted = {key: value for key, value in item.items() if isinstance(key, str) and key.upper() in _JSON_KEYS}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = Dataset.from_json(wanted)
    except Exception as exc:  # pydicom raises several types on a malformed element
        raise InvalidDicom(f"not valid DICOM JSON ({_name(exc)})") from exc
    return _instance(source, ds)


# ---------------------------------------------------------------- header facts


def _instance(source: str, ds: Dataset) -> _Instance:
    """Check the tags coding needs and place the dataset in its series (raises InvalidDicom)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for keyword in KEYWORDS + ACQUISITION:  # convert each kept element now, so later reads cannot fail
                ds.get(keyword)
    except Exception as exc:  # a malformed value pydicom cannot convert
        raise InvalidDicom(f"unreadable header value ({_name(exc)})") from exc
    missing = [keyword for keyword in REQUIRED if not _text(ds, keyword)]
    if missing:
        raise InvalidDicom(f"missing {' and '.join(missing)}")
    position = _floats(ds.get("ImagePositionPatient"))
    return _Instance(source, _text(ds, "SeriesInstanceUID"), position if len(position) == 3 else None, ds,
                     _text(ds, "PatientID"))


def _group(members: list[_Instance]) -> Iterator[DicomSeries]:
    series: dict[tuple[str, str], list[_Instance]] = {}
    for member in members:
        series.setdefault((member.series_uid, member.patient_id), []).append(member)
    for uid in sorted(series):
        yield _series(sorted(series[uid], key=lambda m: m.source))


def _series(members: list[_Instance]) -> DicomSeries:
    ds = next(m.header for m in members if m.header is not None)
    files = tuple(dict.fromkeys(m.source for m in members))
    frames = _int(ds.get("NumberOfFrames")) or 1
    return DicomSeries(
        source=files[0], files=files, study_uid=_text(ds, "StudyInstanceUID"),
        series_uid=_text(ds, "SeriesInstanceUID"), patient_id=_text(ds, "PatientID"), study_date=_iso_date(ds),
        modality=_text(ds, "Modality"), manufacturer=_text(ds, "Manufacturer"),
        model_name=_text(ds, "ManufacturerModelName"), station_name=_text(ds, "StationName"),
        device_serial=_text(ds, "DeviceSerialNumber"), institution=_text(ds, "InstitutionName"),
        image_type=_texts(ds, "ImageType"), series_description=_text(ds, "SeriesDescription"),
        protocol_name=_text(ds, "ProtocolName"), body_part=_text(ds, "BodyPartExamined"),
        sop_class_uid=_text(ds, "SOPClassUID"), diameter_mm=_diameter(ds),
        height_mm=_height(ds, [m.position for m in members], len(members), frames),
        contrast=_contrast(ds), instances=len(members), frames=frames,
        patient_issuer=_text(ds, "IssuerOfPatientID"),
        acquisition=_acquisition(ds), voxel_mm=_voxel(ds),
    )


def _acquisition(ds: Dataset) -> tuple[tuple[str, str], ...]:
    """The ACQUISITION attributes the header writes with a value: (keyword, value as text)."""
    return tuple((keyword, text) for keyword in ACQUISITION if (text := _text(ds, keyword)))


def _voxel(ds: Dataset) -> tuple[float, ...]:
    """(row spacing, column spacing, slice spacing) in mm when all three are measured (> 0), else ()."""
    spacing = _positive(_floats(ds.get("PixelSpacing")))
    step = _positive((_float(ds.get("SpacingBetweenSlices")) or _float(ds.get("SliceThickness")) or 0.0,))
    return spacing + step if len(spacing) == 2 and step else ()


def _positive(values: tuple[float, ...]) -> tuple[float, ...]:
    """The values when every one is a measurement (> 0); a 0 or negative spacing means 'not measured'."""
    return values if values and all(v > 0 for v in values) else ()


def _diameter(ds: Dataset) -> float | None:
    """ReconstructionDiameter, else the larger of Rows x PixelSpacing[0] and Columns x PixelSpacing[1].

    A zero (PixelSpacing 0\\0, written by some exporters) or negative value is not a measurement: unknown.
    """
    diameter = _float(ds.get("ReconstructionDiameter"))
    if diameter and diameter > 0:
        return round(diameter, 3)
    spacing, rows, cols = _positive(_floats(ds.get("PixelSpacing"))), _int(ds.get("Rows")), _int(ds.get("Columns"))
    if len(spacing) == 2 and rows and cols and rows > 0 and cols > 0:
        return round(max(rows * spacing[0], cols * spacing[1]), 3)
    return None


def _height(ds: Dataset, positions: list[tuple[float, ...] | None], count: int, frames: int) -> float | None:
    """Volume height: slice-position extent + one step, else slices x spacing; None for one 2D image.

    With one single-frame file, ImagesInAcquisition (when the header gives it) is the slice count. A spacing of
    0 is not measured: the height is then unknown, never 0 mm.
    """
    if count <= 1 and frames <= 1:
        count = _int(ds.get("ImagesInAcquisition")) or 1
        if count <= 1:
            return None
    extent = _extent(ds, positions)
    if extent is not None and extent > 0:
        return round(extent, 3)
    spacing = _float(ds.get("SpacingBetweenSlices")) or _float(ds.get("SliceThickness"))
    return round(count * frames * spacing, 3) if spacing and spacing > 0 else None


def _extent(ds: Dataset, positions: list[tuple[float, ...] | None]) -> float | None:
    """Distance between the outermost slices along the slice normal, plus one slice spacing.

    The spacing is SpacingBetweenSlices, else the smallest step between slice positions (a missing slice
    leaves a gap, it does not make the slices thicker).
    """
    orientation = _floats(ds.get("ImageOrientationPatient"))
    if len(orientation) != 6:
        return None
    (a, b, c), (d, e, f) = orientation[:3], orientation[3:]
    normal = (b * f - c * e, c * d - a * f, a * e - b * d)
    depths = sorted({round(sum(n * p for n, p in zip(normal, pos)), 4) for pos in positions if pos})
    if len(depths) < 2:
        return None
    step = _float(ds.get("SpacingBetweenSlices")) or min(hi - lo for lo, hi in zip(depths, depths[1:]))
    return depths[-1] - depths[0] + step


def _contrast(ds: Dataset) -> bool | None:
    if "ContrastBolusAgent" not in ds:
        return None
    return _text(ds, "ContrastBolusAgent").upper() not in ("", "NONE", "NO")


def _iso_date(ds: Dataset) -> str:
    for keyword in ("StudyDate", "SeriesDate"):
        digits = re.sub(r"\D", "", _text(ds, keyword))
        if len(digits) == 8:
            return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    return ""


def _text(ds: Dataset, keyword: str) -> str:
    return "\\".join(_texts(ds, keyword))


def _texts(ds: Dataset, keyword: str) -> tuple[str, ...]:
    value = ds.get(keyword)
    if value is None:
        return ()
    values = value if isinstance(value, Sequence) and not isinstance(value, (str, bytes)) else [value]
    return tuple(str(v).strip() for v in values if v is not None)


def _floats(value: Any) -> tuple[float, ...]:
    if value is None:
        return ()
    values = [value] if isinstance(value, (str, int, float)) else list(value)
    numbers = tuple(_float(v) for v in values)
    return () if None in numbers else numbers  # type: ignore[return-value]


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None
