"""Generators of test meshes: binary STL, ASCII STL and PLY with random vertices inside a box.

The two opposite corners of the box are always vertices of the first triangle (or the first two PLY
vertices), so the bounding box of the written file is exactly ``origin .. origin + extent`` (after
float32 rounding; `WrittenMesh.bbox_min/max` hold the exact values that were written). All generation is
vectorised, so a 1M-triangle binary STL (50 MB) takes well under a second.

    write_binary_stl(path, "Medit i700 intraoral scan - maxilla", 2000)
    write_ascii_stl(path, "arch", 500, extent_mm=(0.06, 0.05, 0.02))      # metres
    write_random_ply(path, 300, fmt="binary_big_endian", comments=("TRIOS 5",))
    write_ply(path, vertices, faces, binary=True, comments=("units inch",))  # your own geometry

Used by tests, benchmarks (bench/bench_stl.py) and clinical test cases.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Triple = tuple[float, float, float]

STL_RECORD = np.dtype([("normal", "<f4", (3,)), ("vertices", "<f4", (3, 3)), ("attr", "<u2")])
assert STL_RECORD.itemsize == 50


@dataclass(frozen=True)
class WrittenMesh:
    """What a factory wrote: where, how many triangles, the exact bbox and the header text."""

    path: Path
    triangles: int
    bbox_min: Triple
    bbox_max: Triple
    header: str

    @property
    def extent(self) -> Triple:
        return tuple(hi - lo for lo, hi in zip(self.bbox_min, self.bbox_max))  # type: ignore[return-value]


def random_points(
    count: int, extent_mm: Sequence[float] = (60, 50, 20), origin: Sequence[float] = (0, 0, 0), seed: int = 0
) -> np.ndarray:
    """(count, 3) float32 points inside the box; rows 0 and 1 are its min and max corners (count >= 2)."""
    if count < 2:
        raise ValueError("need at least 2 points to hold both corners of the box")
    lo = np.asarray(origin, np.float64)
    ext = np.asarray(extent_mm, np.float64)
    points = lo + np.random.default_rng(seed).random((count, 3)) * ext
    points[0] = lo
    points[1] = lo + ext
    points = points.astype(np.float32)
    # Rounding is monotonic, so no point lies outside the rounded corners; clip anyway as a guard.
    np.clip(points, points[0].copy(), points[1].copy(), out=points)
    return points


def random_triangles(
    triangles: int, extent_mm: Sequence[float] = (60, 50, 20), origin: Sequence[float] = (0, 0, 0), seed: int = 0
) -> np.ndarray:
    """(triangles, 3, 3) float32 vertices; triangle 0 holds both corners of the box."""
    if triangles < 1:
        raise ValueError("need at least 1 triangle")
    return random_points(3 * triangles, extent_mm, origin, seed).reshape(triangles, 3, 3)


def unit_normals(vertices: np.ndarray) -> np.ndarray:
    """Facet normals of (n, 3, 3) vertices, zero for degenerate triangles."""
    v = vertices.astype(np.float64)
    n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    length = np.linalg.norm(n, axis=1, keepdims=True)
    np.divide(n, length, out=n, where=length > 0)
    n[(length == 0)[:, 0]] = 0
    return n.astype(np.float32)


def _bbox(points: np.ndarray) -> tuple[Triple, Triple]:
    pts = points.reshape(-1, 3)
    return tuple(float(v) for v in pts.min(axis=0)), tuple(float(v) for v in pts.max(axis=0))  # type: ignore[return-value]


def stl_bytes(header: str | bytes, vertices: np.ndarray, declared_count: int | None = None) -> bytes:
    """A binary STL as bytes: 80-byte header (padded with spaces), count, 50-byte records."""
    raw = header.encode("latin-1") if isinstance(header, str) else header
    records = np.zeros(len(vertices), STL_RECORD)
    records["vertices"] = vertices
    records["normal"] = unit_normals(vertices)
    count = len(vertices) if declared_count is None else declared_count
    return raw[:80].ljust(80, b" ") + np.uint32(count).tobytes() + records.tobytes()


def write_binary_stl(
    path: Path,
    header: str,
    triangles: int,
    extent_mm: Sequence[float] = (60, 50, 20),
    seed: int = 0,
    origin: Sequence[float] = (0, 0, 0),
) -> WrittenMesh:
    """Binary STL with `triangles` random facets inside the box; header cut/padded to 80 bytes."""
    path = Path(path)
    vertices = random_triangles(triangles, extent_mm, origin, seed)
    path.write_bytes(stl_bytes(header, vertices))
    lo, hi = _bbox(vertices)
    return WrittenMesh(path, triangles, lo, hi, header[:80].strip())


def ascii_stl_text(name: str, vertices: np.ndarray, newline: str = "\n") -> str:
    """ASCII STL text; coordinates written with 9 significant digits (float32 round-trips exactly)."""
    normals = unit_normals(vertices)
    facet = (
        "facet normal %.9g %.9g %.9g\n  outer loop\n"
        "    vertex %.9g %.9g %.9g\n    vertex %.9g %.9g %.9g\n    vertex %.9g %.9g %.9g\n"
        "  endloop\nendfacet\n"
    )
    values = np.concatenate([normals[:, None, :], vertices], axis=1).astype(np.float64).ravel().tolist()
    body = (facet * len(vertices)) % tuple(values)  # one formatting call for the whole body
    text = f"solid {name}\n{body}endsolid {name}\n"
    return text.replace("\n", newline) if newline != "\n" else text


def write_ascii_stl(
    path: Path,
    name: str,
    triangles: int,
    extent_mm: Sequence[float] = (60, 50, 20),
    seed: int = 0,
    origin: Sequence[float] = (0, 0, 0),
    newline: str = "\n",
) -> WrittenMesh:
    """ASCII STL ("solid <name>" ... "endsolid <name>") with random facets inside the box."""
    path = Path(path)
    vertices = random_triangles(triangles, extent_mm, origin, seed)
    path.write_bytes(ascii_stl_text(name, vertices, newline).encode("ascii"))
    lo, hi = _bbox(vertices)
    return WrittenMesh(path, triangles, lo, hi, name)


def ply_bytes(
    vertices: np.ndarray,
    faces: np.ndarray,
    fmt: str = "ascii",
    comments: Sequence[str] = (),
    obj_info: Sequence[str] = (),
    vertex_type: str = "float",
    extra_vertex_property: bool = False,
) -> bytes:
    """A PLY file as bytes. fmt: ascii | binary_little_endian | binary_big_endian.

    Faces are triangles (uchar count + int indices). `extra_vertex_property` adds a trailing
    "uchar red" per vertex so readers must use the header layout, not assume x y z only.
    """
    vertices = np.asarray(vertices)
    faces = np.asarray(faces, np.int32).reshape(-1, 3)
    code = {"float": "f4", "double": "f8"}[vertex_type]
    lines = ["ply", f"format {fmt} 1.0"]
    lines += [f"comment {c}" for c in comments]
    lines += [f"obj_info {o}" for o in obj_info]
    lines += [f"element vertex {len(vertices)}"]
    lines += [f"property {vertex_type} {axis}" for axis in "xyz"]
    if extra_vertex_property:
        lines.append("property uchar red")
    lines += [f"element face {len(faces)}", "property list uchar int vertex_indices", "end_header"]
    head = ("\n".join(lines) + "\n").encode("ascii")
    red = (np.arange(len(vertices)) % 256).astype(np.uint8)
    if fmt == "ascii":
        cols = "%.17g %.17g %.17g" + (" %d" if extra_vertex_property else "")
        vals = [vertices[:, 0], vertices[:, 1], vertices[:, 2]] + ([red] if extra_vertex_property else [])
        rows = np.stack([np.asarray(v, np.float64) for v in vals], axis=1)
        vtext = ((cols + "\n") * len(rows)) % tuple(rows.ravel().tolist())
        ftext = ("3 %d %d %d\n" * len(faces)) % tuple(faces.ravel().tolist())
        return head + vtext.encode("ascii") + ftext.encode("ascii")
    order = {"binary_little_endian": "<", "binary_big_endian": ">"}[fmt]
    vfields = [(axis, order + code) for axis in "xyz"] + ([("red", "u1")] if extra_vertex_property else [])
    vtable = np.zeros(len(vertices), vfields)
    for i, axis in enumerate("xyz"):
        vtable[axis] = vertices[:, i]
    if extra_vertex_property:
        vtable["red"] = red
    ftable = np.zeros(len(faces), [("n", "u1"), ("idx", order + "i4", (3,))])
    ftable["n"] = 3
    ftable["idx"] = faces
    return head + vtable.tobytes() + ftable.tobytes()


def write_ply(
    path: Path,
    vertices: np.ndarray,
    faces: np.ndarray,
    binary: bool | str = False,
    comments: Sequence[str] = (),
    obj_info: Sequence[str] = (),
    vertex_type: str = "float",
    extra_vertex_property: bool = False,
) -> Path:
    """Write a PLY from arrays. binary: False (ascii), True (little endian) or a PLY format name."""
    fmt = binary if isinstance(binary, str) else ("binary_little_endian" if binary else "ascii")
    path = Path(path)
    path.write_bytes(ply_bytes(vertices, faces, fmt, comments, obj_info, vertex_type, extra_vertex_property))
    return path


def write_random_ply(
    path: Path,
    triangles: int,
    extent_mm: Sequence[float] = (60, 50, 20),
    seed: int = 0,
    origin: Sequence[float] = (0, 0, 0),
    fmt: str = "ascii",
    comments: Sequence[str] = (),
    obj_info: Sequence[str] = (),
    vertex_type: str = "float",
    vertices: int | None = None,
    extra_vertex_property: bool = False,
) -> WrittenMesh:
    """PLY with random vertices inside the box (both corners included) and random triangle faces."""
    count = vertices if vertices is not None else max(3, triangles // 2 + 2)
    points = random_points(count, extent_mm, origin, seed)
    if vertex_type == "double":  # write the float64 values of the same points
        points = points.astype(np.float64)
    faces = np.random.default_rng(seed + 1).integers(0, count, size=(triangles, 3))
    path = write_ply(path, points, faces, fmt, comments, obj_info, vertex_type, extra_vertex_property)
    lo, hi = _bbox(points)
    header = "; ".join([*comments, *obj_info])
    return WrittenMesh(path, triangles, lo, hi, header)
