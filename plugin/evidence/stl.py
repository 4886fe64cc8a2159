"""Surface-mesh reader: binary STL, ASCII STL and PLY -> one `SurfaceMesh` (triangle count, bbox, header).

Only the facts coding needs are read: how many triangles, the bounding box, the header text (that is how
the scanner is recognised: "Medit i700", "3Shape TRIOS 5", ...) and a units sanity check. Geometry is
never kept in memory beyond what the bounding box needs, and no Python loop runs per triangle or per
vertex:

* Binary STL (80-byte header, uint32 count, 50-byte records): the file is memory-mapped and a zero-copy
  strided view ``np.ndarray((n, 9), '<f4', buffer=..., offset=84 + 12, strides=(50, 4))`` exposes the
  nine vertex coordinates of every record. Reducing that strided view directly is slow (no SIMD on a
  50-byte stride), so it is reduced in blocks of `_BLOCK_ROWS` records: each block is copied
  (transposed) into one small, cache-resident contiguous buffer and min/max run on contiguous rows. The
  Python loop is over blocks (~60 for a 1M-triangle, 50 MB scan), never over triangles.
  Format detection follows the size rule first: a file whose size is ``84 + 50 * count`` (plus fewer than 50
  trailing bytes, which other readers ignore too) is binary even when its header starts with "solid" (many
  scanners write that).
* ASCII STL: one compiled regular expression pulls the three coordinates of every ``vertex`` line out
  of the whole file in a single C-level ``findall``; the matches are joined into one byte string that
  ``np.fromstring(..., sep=' ')`` converts to floats in bulk. Validation is bulk too: the number of
  well-formed vertex lines is compared with the number of ``vertex`` keywords; only when those differ
  (or the float conversion fails) does the error path look for the first offending line to name it.
* PLY (ascii, binary_little_endian, binary_big_endian): the header is parsed line by line (it is
  short); binary vertex data becomes a structured NumPy dtype read with ``np.frombuffer`` (x/y/z may
  be float, double or an integer type); ASCII vertex lines are taken with one ``bytes.split`` and
  parsed in bulk with ``np.fromstring``. The triangle count is the face count declared in the element
  header (a polygon face counts as one). The body is checked for truncation: vertex data must be
  complete, and there must be room for at least that many triangles (binary) or lines (ASCII).

Every problem raises `InvalidMesh(message, source=str(path))` with a plain-words message.
"""
from __future__ import annotations

import hashlib
import mmap
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from plugin.errors import InvalidMesh
from plugin.evidence.model import SurfaceMesh

__all__ = ["is_mesh_file", "read_mesh", "MESH_SUFFIXES"]

MESH_SUFFIXES = frozenset({".stl", ".ply"})

# --- Units sanity -------------------------------------------------------------------------------
# The largest extent of a dental arch is about 40-80 mm, of a face 120-250 mm; a single die or crown
# is still several mm. So, in the file's units:
METRES_BELOW = 1.0  # largest extent < 1.0: the file is in metres (0.06 m arch) -> scale x1000
INCH_RANGE = (1.0, 12.0)  # 1..12 with "inch"/"in" stated in the header or PLY comments -> x25.4
IMPLAUSIBLE_ABOVE = 1000.0  # > 1 m in "mm": warn, do not guess a scale
MM_PER_METRE = 1000.0
MM_PER_INCH = 25.4
# "inch", "inches", or a units statement whose value is "in" ("units: in", "unit=in", "(in)").
_INCH_RE = re.compile(r"\binch(es)?\b|\bunits?\s*[:=]?\s*in\b|\(in\)", re.IGNORECASE)

# --- Binary STL ---------------------------------------------------------------------------------
_STL_HEADER = 80
_STL_PREFIX = 84  # header + uint32 triangle count
_STL_RECORD = 50  # normal (12) + 3 vertices (36) + attribute byte count (2)
_BLOCK_ROWS = 16384  # records reduced per block: a (9, 16384) float32 buffer is 576 KiB (fits L2)
_SNIFF_BYTES = 1024  # bytes looked at to tell ASCII from binary / to sniff a file without a suffix

# --- ASCII STL ----------------------------------------------------------------------------------
# One vertex line: the keyword and exactly three whitespace-separated tokens up to the end of line.
# Keywords in any case: the STL format names them in lower case, but CAD exporters write `VERTEX`, `ENDSOLID`
# (numpy-stl and trimesh read them so), and a file other readers accept is read.
_VERTEX_RE = re.compile(rb"vertex[ \t]+(\S+[ \t]+\S+[ \t]+\S+)[ \t]*\r?$", re.MULTILINE)
_VERTEX_ANY_CASE_RE = re.compile(_VERTEX_RE.pattern, re.MULTILINE | re.IGNORECASE)  # 10-30% slower: only when needed
_VERTEX_ANY_RE = re.compile(rb"^[ \t]*vertex\b([^\r\n]*)", re.MULTILINE | re.IGNORECASE)  # error path only

# --- PLY ----------------------------------------------------------------------------------------
_PLY_TYPES = {
    "char": "i1", "int8": "i1",
    "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2",
    "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4",
    "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4",
    "double": "f8", "float64": "f8",
}
_PLY_FORMATS = {"ascii": "", "binary_little_endian": "<", "binary_big_endian": ">"}
_FACE_INDEX_NAMES = ("vertex_indices", "vertex_index")


def is_mesh_file(path: Path) -> bool:
    """True for .stl / .ply (any case), or a file that sniffs as PLY, ASCII STL or binary STL."""
    path = Path(path)
    if path.suffix.lower() in MESH_SUFFIXES:
        return path.is_file()
    try:
        size = path.stat().st_size
        if not path.is_file() or size == 0:
            return False
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return False
    if head.startswith((b"ply\n", b"ply\r\n")):
        return True
    if _starts_solid(head) and b"facet" in head.lower():
        return True
    if size >= _STL_PREFIX + _STL_RECORD and len(head) >= _STL_PREFIX:
        count = int.from_bytes(head[_STL_HEADER:_STL_PREFIX], "little")
        return count > 0 and _binary_stl_size_matches(head, size)
    return False


def read_mesh(path: Path) -> SurfaceMesh:
    """Read an STL (binary or ASCII) or PLY file into a `SurfaceMesh`; raise `InvalidMesh` if unusable."""
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InvalidMesh(f"cannot read file: {exc.strerror or exc}", source=source) from None
    if size == 0:
        raise InvalidMesh("empty file (0 bytes)", source=source)

    if head.startswith((b"ply\n", b"ply\r\n")):
        raw = _read_ply(path, source)
    elif _binary_stl_size_matches(head, size):
        raw = _read_binary_stl(path, source, size)
    elif _starts_solid(head) and _looks_like_text(head):
        raw = _read_ascii_stl(path, source)
    elif path.suffix.lower() == ".ply" or head.startswith(b"ply"):
        raise InvalidMesh("bad PLY header: the file must start with the line 'ply'", source=source)
    else:
        raw = _read_binary_stl(path, source, size)  # reports the size mismatch / truncation
    return replace(_finish(raw, source), sha256=_sha256(path, source))


def _sha256(path: Path, source: str) -> str:
    """The file's content hash (what makes two copies of one scan one piece of evidence, plugin/case.py)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InvalidMesh(f"cannot read file: {exc.strerror or exc}", source=source) from None
    return digest.hexdigest()


# -------------------------------------------------------------------------------------------------
# shared


@dataclass
class _Raw:
    format: str
    header: str
    triangles: int
    lo: np.ndarray  # (3,) float64
    hi: np.ndarray


def _finish(raw: _Raw, source: str) -> SurfaceMesh:
    if raw.triangles <= 0:
        raise InvalidMesh(f"{_FORMAT_NAMES[raw.format]} has zero triangles", source=source)
    if not (np.all(np.isfinite(raw.lo)) and np.all(np.isfinite(raw.hi))):
        raise InvalidMesh(
            f"{_FORMAT_NAMES[raw.format]} has non-finite coordinates (NaN or infinite)", source=source
        )
    lo = tuple(float(v) for v in raw.lo)
    hi = tuple(float(v) for v in raw.hi)
    scale, note = _units(max(h - l for l, h in zip(lo, hi)), raw.header)
    return SurfaceMesh(
        source=source,
        format=raw.format,
        header=raw.header,
        triangles=int(raw.triangles),
        bbox_min=lo,  # type: ignore[arg-type]
        bbox_max=hi,  # type: ignore[arg-type]
        units_note=note,
        scale=scale,
    )


_FORMAT_NAMES = {"stl-binary": "binary STL", "stl-ascii": "ASCII STL", "ply": "PLY"}


def _units(largest: float, header: str) -> tuple[float, str]:
    """Scale to millimetres from the largest extent (file units) and the header text."""
    if largest <= 0.0:
        return 1.0, "zero extent: every vertex is at the same point"
    if largest < METRES_BELOW:
        return MM_PER_METRE, f"largest extent {largest:.4g}: looks like metres, scaled x1000"
    lo, hi = INCH_RANGE
    if lo <= largest <= hi and _INCH_RE.search(header):
        return MM_PER_INCH, f"largest extent {largest:.4g} and header says inch: scaled x25.4"
    if largest > IMPLAUSIBLE_ABOVE:
        return 1.0, (
            f"largest extent {largest:.4g}: implausibly large for a dental or facial scan (mm expected)"
        )
    return 1.0, ""


def _printable(raw: bytes | str) -> str:
    """Printable ASCII only; runs of anything else (NUL padding, colour bytes) become one space."""
    text = raw.decode("latin-1") if isinstance(raw, (bytes, bytearray)) else raw
    return " ".join(re.sub(r"[^\x21-\x7e]+", " ", text).split())


def _starts_solid(head: bytes) -> bool:
    return head.lstrip()[:5].lower() == b"solid"


def _looks_like_text(head: bytes) -> bool:
    """No control bytes (NUL etc.) in the sniffed head: binary floats nearly always have some.

    Bytes >= 0x80 are allowed so a UTF-8 / Latin-1 solid name still reads as text.
    """
    return not re.search(rb"[\x00-\x08\x0e-\x1f\x7f]", head)


# -------------------------------------------------------------------------------------------------
# binary STL


def _binary_stl_size_matches(head: bytes, size: int) -> bool:
    """The size is 84 + 50 x count, or up to one record more (a few trailing bytes other readers ignore)."""
    if size < _STL_PREFIX or len(head) < _STL_PREFIX:
        return False
    count = int.from_bytes(head[_STL_HEADER:_STL_PREFIX], "little")
    return 0 <= size - (_STL_PREFIX + _STL_RECORD * count) < _STL_RECORD


def _read_binary_stl(path: Path, source: str, size: int) -> _Raw:
    if size < _STL_PREFIX:
        raise InvalidMesh(
            f"too short for a binary STL: {size} bytes, expected at least {_STL_PREFIX} "
            "(80-byte header + triangle count)",
            source=source,
        )
    with path.open("rb") as fh:
        prefix = fh.read(_STL_PREFIX)
        count = int.from_bytes(prefix[_STL_HEADER:_STL_PREFIX], "little")
        expected = _STL_PREFIX + _STL_RECORD * count
        if not 0 <= size - expected < _STL_RECORD:  # fewer than 50 trailing bytes are padding, not a record
            what = "truncated" if size < expected else "size does not match its triangle count"
            raise InvalidMesh(
                f"binary STL {what}: header says {count} triangles, expected {expected} bytes "
                f"(84 + 50 x {count}), actual {size} bytes",
                source=source,
            )
        header = _printable(prefix[:_STL_HEADER])
        if count == 0:
            return _Raw("stl-binary", header, 0, np.zeros(3), np.zeros(3))
        lo, hi = _binary_stl_bbox(fh, count, source)
    return _Raw("stl-binary", header, count, lo, hi)


def _binary_stl_bbox(fh, count: int, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Min/max of all vertex coordinates: memory map, zero-copy strided view, blockwise reduction."""
    try:
        buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # not mappable (special file system): read it instead
        fh.seek(0)
        buf = fh.read()
    expected = _STL_PREFIX + _STL_RECORD * count
    if len(buf) < expected:  # the file shrank since its size was checked
        if isinstance(buf, mmap.mmap):
            buf.close()
        raise InvalidMesh(
            f"binary STL truncated while reading: expected {expected} bytes, actual {len(buf)} bytes",
            source=source,
        )
    if not isinstance(buf, mmap.mmap):
        return _strided_bbox(buf, count)
    try:
        return _strided_bbox(buf, count)
    finally:
        try:
            buf.close()  # every view into buf lived only inside _strided_bbox
        except BufferError:  # a view is still held by an in-flight exception; GC closes it
            pass


def _strided_bbox(buf, count: int) -> tuple[np.ndarray, np.ndarray]:
    coords = np.ndarray((count, 9), "<f4", buffer=buf, offset=_STL_PREFIX + 12, strides=(_STL_RECORD, 4))
    rows = min(count, _BLOCK_ROWS)
    block = np.empty((9, rows), np.float32)  # contiguous, cache-resident scratch
    lo9 = np.full(9, np.inf, np.float32)
    hi9 = np.full(9, -np.inf, np.float32)
    for start in range(0, count, rows):  # loop over blocks of records, not over triangles
        part = coords[start : start + rows]
        scratch = block[:, : len(part)]
        np.copyto(scratch, part.T)
        np.minimum(lo9, scratch.min(axis=1), out=lo9)  # min/max propagate NaN
        np.maximum(hi9, scratch.max(axis=1), out=hi9)
    del coords, part  # release the views into the mapped file before it is closed
    # (9,) = three vertices x (x, y, z); NaN propagates through min/max, checked in _finish.
    return lo9.reshape(3, 3).min(axis=0).astype(np.float64), hi9.reshape(3, 3).max(axis=0).astype(np.float64)


# -------------------------------------------------------------------------------------------------
# ASCII STL


def _read_ascii_stl(path: Path, source: str) -> _Raw:
    data = path.read_bytes()
    first_line = data.lstrip().split(b"\n", 1)[0]
    header = _printable(first_line[len(b"solid") :])

    keywords = data.lower().count(b"vertex")
    lower_case = keywords == data.count(b"vertex")  # the usual file: the faster case-sensitive pattern does
    lines = (_VERTEX_RE if lower_case else _VERTEX_ANY_CASE_RE).findall(data)
    if keywords == 0:
        raise InvalidMesh("ASCII STL has no facets (no 'vertex' lines)", source=source)
    if len(lines) != keywords:
        bad = _first_bad_vertex_line(data)
        if bad is not None:
            raise InvalidMesh(f"ASCII STL has a malformed vertex line {bad}", source=source)
        # 'vertex' also occurs in a name or comment; the well-formed lines are the vertices.
    if not lines:
        raise InvalidMesh("ASCII STL has no facets (no well-formed 'vertex' lines)", source=source)
    values = _parse_floats(b" ".join(lines))
    if values is None or values.size != 3 * len(lines):
        bad = _first_bad_vertex_line(data)
        raise InvalidMesh(
            f"ASCII STL has a malformed vertex line {bad or '(a coordinate is not a number)'}",
            source=source,
        )
    if len(lines) % 3:
        raise InvalidMesh(
            f"ASCII STL has {len(lines)} vertex lines, not a multiple of 3 (truncated or broken facet)",
            source=source,
        )
    if b"endsolid" not in data[-4096:].lower():
        raise InvalidMesh("ASCII STL ends without 'endsolid' (truncated)", source=source)
    xyz = values.reshape(-1, 3)
    return _Raw("stl-ascii", header, len(lines) // 3, xyz.min(axis=0), xyz.max(axis=0))


def _parse_floats(text: bytes) -> np.ndarray | None:
    """Whitespace-separated floats in bulk; None when some token is not a number."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # numpy < 2 warns instead of raising
        try:
            return np.fromstring(text, dtype=np.float64, sep=" ")
        except (ValueError, DeprecationWarning):
            return None


def _first_bad_vertex_line(data: bytes) -> str | None:
    """Error path only: line number and text of the first vertex line without three numbers."""
    for match in _VERTEX_ANY_RE.finditer(data):
        tokens = match.group(1).split()
        try:
            [float(t) for t in tokens]  # "nan"/"inf" parse here; the non-finite check reports them
            ok = len(tokens) == 3
        except ValueError:
            ok = False
        if not ok:
            line_no = data.count(b"\n", 0, match.start()) + 1
            text = _printable(match.group(0))[:80]
            return f"at line {line_no}: {text!r} (expected 'vertex x y z')"
    return None


# -------------------------------------------------------------------------------------------------
# PLY


@dataclass
class _PlyProperty:
    name: str
    dtype: str  # numpy code without byte order, e.g. "f4"
    count_dtype: str = ""  # for list properties: type of the length prefix

    @property
    def is_list(self) -> bool:
        return bool(self.count_dtype)


@dataclass
class _PlyElement:
    name: str
    count: int
    properties: list[_PlyProperty]

    @property
    def has_list(self) -> bool:
        return any(p.is_list for p in self.properties)


def _read_ply(path: Path, source: str) -> _Raw:
    data = path.read_bytes()
    fmt, elements, header, body_start = _parse_ply_header(data, source)
    names = [e.name for e in elements]
    if "vertex" not in names:
        raise InvalidMesh("bad PLY header: no 'element vertex'", source=source)
    vertex = elements[names.index("vertex")]
    props = {p.name: p for p in vertex.properties}
    missing = [axis for axis in "xyz" if axis not in props]
    if missing:
        raise InvalidMesh(
            f"bad PLY header: element vertex has no property {', '.join(missing)} (x, y, z required)",
            source=source,
        )
    if vertex.has_list:
        raise InvalidMesh("unsupported PLY: element vertex has a list property", source=source)
    faces = next((e for e in elements if e.name == "face"), None)
    triangles = faces.count if faces else 0
    if faces is not None and not any(p.is_list for p in faces.properties):
        raise InvalidMesh("bad PLY header: element face has no list property (vertex_indices)", source=source)
    if vertex.count == 0:
        raise InvalidMesh("PLY has zero vertices", source=source)

    before = elements[: names.index("vertex")]
    after = elements[names.index("vertex") + 1 :]
    if fmt == "ascii":
        xyz = _ply_ascii_vertices(data, body_start, before, vertex, after, source)
    else:
        xyz = _ply_binary_vertices(data, body_start, _PLY_FORMATS[fmt], before, vertex, after, source)
    return _Raw("ply", header, triangles, xyz.min(axis=0).astype(np.float64), xyz.max(axis=0).astype(np.float64))


def _parse_ply_header(data: bytes, source: str) -> tuple[str, list[_PlyElement], str, int]:
    match = re.search(rb"^end_header[ \t]*\r?\n", data, re.MULTILINE)
    if match is None:
        raise InvalidMesh("bad PLY header: no 'end_header' line", source=source)
    try:
        text = data[: match.start()].decode("ascii")
    except UnicodeDecodeError:
        raise InvalidMesh("bad PLY header: not ASCII text", source=source) from None

    fmt = ""
    elements: list[_PlyElement] = []
    notes: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):  # header lines, not data
        words = line.split()
        if number == 1:
            if words != ["ply"]:
                raise InvalidMesh("bad PLY header: first line must be 'ply'", source=source)
            continue
        if not words:
            continue
        keyword = words[0]
        where = f"header line {number} {line.strip()[:60]!r}"
        if keyword in ("comment", "obj_info"):
            notes.append(line.strip()[len(keyword) :].strip())
        elif keyword == "format":
            if len(words) != 3 or words[1] not in _PLY_FORMATS:
                raise InvalidMesh(
                    f"bad PLY header: {where}: format must be ascii, binary_little_endian or "
                    "binary_big_endian",
                    source=source,
                )
            fmt = words[1]
        elif keyword == "element":
            if len(words) != 3 or not words[2].isdigit():
                raise InvalidMesh(f"bad PLY header: {where}: expected 'element <name> <count>'", source=source)
            elements.append(_PlyElement(words[1], int(words[2]), []))
        elif keyword == "property":
            if not elements:
                raise InvalidMesh(f"bad PLY header: {where}: property before any element", source=source)
            if len(words) == 5 and words[1] == "list" and words[2] in _PLY_TYPES and words[3] in _PLY_TYPES:
                prop = _PlyProperty(words[4], _PLY_TYPES[words[3]], _PLY_TYPES[words[2]])
            elif len(words) == 3 and words[1] in _PLY_TYPES:
                prop = _PlyProperty(words[2], _PLY_TYPES[words[1]])
            else:
                raise InvalidMesh(f"bad PLY header: {where}: unknown property type", source=source)
            elements[-1].properties.append(prop)
        else:
            raise InvalidMesh(f"bad PLY header: {where}: unknown keyword {keyword!r}", source=source)
    if not fmt:
        raise InvalidMesh("bad PLY header: no 'format' line", source=source)
    header = "; ".join(p for p in (_printable(n) for n in notes) if p)
    return fmt, elements, header, match.end()


def _ply_binary_vertices(
    data: bytes,
    start: int,
    order: str,
    before: list[_PlyElement],
    vertex: _PlyElement,
    after: list[_PlyElement],
    source: str,
) -> np.ndarray:
    offset = start
    for element in before:
        if element.has_list:
            raise InvalidMesh(
                f"unsupported PLY layout: element {element.name!r} with a list property comes before vertex",
                source=source,
            )
        offset += element.count * sum(np.dtype(p.dtype).itemsize for p in element.properties)
    dtype = np.dtype([(p.name, order + p.dtype) for p in vertex.properties])
    needed = offset + vertex.count * dtype.itemsize
    if len(data) < needed:
        raise InvalidMesh(
            f"PLY body truncated: {vertex.count} vertices need {needed} bytes, actual {len(data)} bytes",
            source=source,
        )
    # Smallest possible rest of the body: every list as short as a triangle for faces, empty otherwise.
    minimum = needed
    for element in after:
        per_row = 0
        for p in element.properties:
            per_row += np.dtype(p.count_dtype or p.dtype).itemsize
            if p.is_list and element.name == "face" and p.name in _FACE_INDEX_NAMES:
                per_row += 3 * np.dtype(p.dtype).itemsize
        minimum += element.count * per_row
    if len(data) < minimum:
        raise InvalidMesh(
            f"PLY body truncated: the declared faces need at least {minimum} bytes, actual {len(data)} bytes",
            source=source,
        )
    table = np.frombuffer(data, dtype=dtype, count=vertex.count, offset=offset)
    return np.stack([table["x"], table["y"], table["z"]], axis=1)


def _ply_ascii_vertices(
    data: bytes,
    start: int,
    before: list[_PlyElement],
    vertex: _PlyElement,
    after: list[_PlyElement],
    source: str,
) -> np.ndarray:
    skip = sum(e.count for e in before)
    parts = data[start:].split(b"\n", skip + vertex.count)  # C-level split; the rest stays one chunk
    if len(parts) < skip + vertex.count:
        raise InvalidMesh(
            f"PLY body truncated: expected {vertex.count} vertex lines, found "
            f"{max(0, len(parts) - skip)}",
            source=source,
        )
    lines = parts[skip : skip + vertex.count]
    width = len(vertex.properties)
    values = _parse_floats(b" ".join(lines))
    if values is None or values.size != width * vertex.count:
        raise InvalidMesh(
            f"PLY vertex data malformed: expected {vertex.count} lines of {width} numbers",
            source=source,
        )
    rest = parts[skip + vertex.count] if len(parts) > skip + vertex.count else b""
    rest = rest.strip()
    rest_lines = rest.count(b"\n") + 1 if rest else 0
    wanted = sum(e.count for e in after)
    if rest_lines < wanted:
        raise InvalidMesh(
            f"PLY body truncated: expected {wanted} lines after the vertices, found {rest_lines}",
            source=source,
        )
    table = values.reshape(vertex.count, width)
    names = [p.name for p in vertex.properties]
    return table[:, [names.index("x"), names.index("y"), names.index("z")]]
