"""Surface-mesh reader (plugin/evidence/stl.py): formats, header, bbox, units and every error path."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.errors import InputError, InvalidMesh
from plugin.evidence.model import SurfaceMesh
from plugin.evidence.stl import is_mesh_file, read_mesh
from tests.factories.mesh import (
    ascii_stl_text,
    ply_bytes,
    random_points,
    random_triangles,
    stl_bytes,
    write_ascii_stl,
    write_binary_stl,
    write_ply,
    write_random_ply,
)

F32 = dict(rel=1e-6, abs=1e-6)  # float32 tolerance


def assert_bbox(mesh: SurfaceMesh, written) -> None:
    assert mesh.bbox_min == pytest.approx(written.bbox_min, **F32)
    assert mesh.bbox_max == pytest.approx(written.bbox_max, **F32)


# --- formats ------------------------------------------------------------------------------------


def test_binary_stl(tmp_path: Path) -> None:
    written = write_binary_stl(tmp_path / "maxilla.stl", "Medit i700 intraoral scan - maxilla", 2000)
    mesh = read_mesh(written.path)
    assert mesh.format == "stl-binary"
    assert mesh.triangles == 2000
    assert mesh.header == "Medit i700 intraoral scan - maxilla"
    assert mesh.bbox_min == written.bbox_min  # binary: exact float32 values
    assert mesh.bbox_max == written.bbox_max
    assert mesh.extent_mm == pytest.approx((60, 50, 20), **F32)
    assert (mesh.scale, mesh.units_note) == (1.0, "")
    assert mesh.source == str(written.path)
    assert mesh.ref == "File/maxilla.stl"


def test_binary_stl_bbox_across_blocks_with_offset_origin(tmp_path: Path) -> None:
    # more records than one reduction block (16384), corners in the first triangle, negative origin
    written = write_binary_stl(tmp_path / "big.stl", "3Shape TRIOS 5", 40_000, (70, 55, 30), seed=3, origin=(-35, -20, -5))
    mesh = read_mesh(written.path)
    assert mesh.triangles == 40_000
    assert (mesh.bbox_min, mesh.bbox_max) == (written.bbox_min, written.bbox_max)


def test_binary_stl_extreme_vertex_in_last_block(tmp_path: Path) -> None:
    vertices = random_triangles(20_000, seed=5)
    vertices[-1, 2] = (-7.5, 99.0, 42.0)  # a vertex outside the box, in the last partial block
    path = tmp_path / "last.stl"
    path.write_bytes(stl_bytes("x", vertices))
    mesh = read_mesh(path)
    assert mesh.bbox_min == (-7.5, 0.0, 0.0)
    assert mesh.bbox_max == (60.0, 99.0, 42.0)


def test_binary_stl_whose_header_starts_with_solid(tmp_path: Path) -> None:
    written = write_binary_stl(tmp_path / "solid.stl", "solid Medit i700 intraoral scan - mandible", 300)
    mesh = read_mesh(written.path)
    assert mesh.format == "stl-binary"
    assert mesh.triangles == 300
    assert mesh.header == "solid Medit i700 intraoral scan - mandible"
    assert_bbox(mesh, written)


def test_binary_header_is_printable_text_only(tmp_path: Path) -> None:
    header = b"COLOR=\xff\x00\x80\x01 3Shape TRIOS 5\x00\x00\x00\tscan"
    path = tmp_path / "color.stl"
    path.write_bytes(stl_bytes(header.ljust(80, b"\x00"), random_triangles(4)))
    assert read_mesh(path).header == "COLOR= 3Shape TRIOS 5 scan"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_ascii_stl(tmp_path: Path, newline: str) -> None:
    written = write_ascii_stl(tmp_path / "arch.stl", "Medit i700 arch", 500, (62, 48, 22), seed=1, newline=newline)
    mesh = read_mesh(written.path)
    assert mesh.format == "stl-ascii"
    assert mesh.triangles == 500
    assert mesh.header == "Medit i700 arch"
    assert_bbox(mesh, written)


def test_ascii_stl_with_vertex_in_its_name(tmp_path: Path) -> None:
    path = tmp_path / "named.stl"
    path.write_text(ascii_stl_text("vertex_colour_scan", random_triangles(3)))
    mesh = read_mesh(path)
    assert (mesh.triangles, mesh.header) == (3, "vertex_colour_scan")


@pytest.mark.parametrize("fmt", ["ascii", "binary_little_endian", "binary_big_endian"])
@pytest.mark.parametrize("vertex_type", ["float", "double"])
def test_ply(tmp_path: Path, fmt: str, vertex_type: str) -> None:
    written = write_random_ply(
        tmp_path / "scan.ply",
        400,
        (58, 47, 19),
        seed=2,
        origin=(-10, 5, 0),
        fmt=fmt,
        comments=("3Shape TRIOS 5", "exported by Unite"),
        obj_info=("jaw: upper",),
        vertex_type=vertex_type,
        extra_vertex_property=True,
    )
    mesh = read_mesh(written.path)
    assert mesh.format == "ply"
    assert mesh.triangles == 400
    assert mesh.header == "3Shape TRIOS 5; exported by Unite; jaw: upper"
    assert_bbox(mesh, written)


def test_ply_with_crlf_header_and_element_before_vertex(tmp_path: Path) -> None:
    body = ply_bytes(random_points(4), [[0, 1, 2], [1, 2, 3]], "binary_little_endian")
    head, rest = body.split(b"end_header\n", 1)
    head = head.replace(b"element vertex", b"element material 2\nproperty uchar id\nelement vertex")
    path = tmp_path / "crlf.ply"
    path.write_bytes(head.replace(b"\n", b"\r\n") + b"end_header\r\n" + b"\x07\x08" + rest)
    mesh = read_mesh(path)
    assert mesh.triangles == 2
    assert mesh.bbox_max == (60.0, 50.0, 20.0)


# --- units --------------------------------------------------------------------------------------


def test_metres_are_scaled(tmp_path: Path) -> None:
    written = write_binary_stl(tmp_path / "m.stl", "exported in metres", 100, (0.06, 0.05, 0.02))
    mesh = read_mesh(written.path)
    assert mesh.scale == 1000
    assert "metres" in mesh.units_note
    assert mesh.extent_mm == pytest.approx((60, 50, 20), rel=1e-5)


def test_inches_scaled_only_when_the_header_says_so(tmp_path: Path) -> None:
    inch = read_mesh(write_random_ply(tmp_path / "in.ply", 50, (2.4, 2.0, 0.8), comments=("units: inch",)).path)
    assert inch.scale == 25.4
    assert "inch" in inch.units_note
    assert inch.extent_mm == pytest.approx((60.96, 50.8, 20.32), rel=1e-5)
    short_in = read_mesh(write_binary_stl(tmp_path / "in.stl", "Model units=in", 10, (2.4, 2.0, 0.8)).path)
    assert short_in.scale == 25.4
    plain = read_mesh(write_binary_stl(tmp_path / "crown.stl", "crown 46 scanned in lab", 10, (11, 10, 8)).path)
    assert (plain.scale, plain.units_note) == (1.0, "")


def test_implausibly_large_is_flagged_not_scaled(tmp_path: Path) -> None:
    mesh = read_mesh(write_binary_stl(tmp_path / "huge.stl", "x", 10, (5000, 3000, 100)).path)
    assert mesh.scale == 1.0
    assert "implausibly large for a dental or facial scan (mm expected)" in mesh.units_note


def test_face_sized_scan_needs_no_note(tmp_path: Path) -> None:
    mesh = read_mesh(write_binary_stl(tmp_path / "face.stl", "face scan", 10, (160, 220, 120)).path)
    assert (mesh.scale, mesh.units_note) == (1.0, "")


# --- errors -------------------------------------------------------------------------------------


def test_truncated_binary_names_expected_and_actual_size(tmp_path: Path) -> None:
    path = tmp_path / "cut.stl"
    data = stl_bytes("Medit i700", random_triangles(2000))
    path.write_bytes(data[:50_000])
    with pytest.raises(InvalidMesh, match=r"truncated.*2000 triangles.*expected 100084 bytes.*actual 50000 bytes") as info:
        read_mesh(path)
    assert info.value.source == str(path)
    assert info.value.reason == "InvalidMesh"
    assert isinstance(info.value, InputError)


def test_truncated_binary_with_solid_header_is_still_reported_as_binary(tmp_path: Path) -> None:
    path = tmp_path / "cut.stl"
    path.write_bytes(stl_bytes("solid scan", random_triangles(100))[:3000])
    with pytest.raises(InvalidMesh, match=r"expected 5084 bytes.*actual 3000 bytes"):
        read_mesh(path)


def test_count_not_matching_size(tmp_path: Path) -> None:
    path = tmp_path / "count.stl"
    path.write_bytes(stl_bytes("x", random_triangles(10), declared_count=7))
    with pytest.raises(InvalidMesh, match=r"does not match.*7 triangles.*expected 434 bytes.*actual 584 bytes"):
        read_mesh(path)


def test_binary_too_short(tmp_path: Path) -> None:
    path = tmp_path / "short.stl"
    path.write_bytes(b"\x01\x02" * 20)
    with pytest.raises(InvalidMesh, match=r"too short for a binary STL: 40 bytes"):
        read_mesh(path)


def test_binary_zero_triangles(tmp_path: Path) -> None:
    path = tmp_path / "zero.stl"
    path.write_bytes(b"Medit".ljust(80, b" ") + struct.pack("<I", 0))
    with pytest.raises(InvalidMesh, match="zero triangles"):
        read_mesh(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.stl"
    path.write_bytes(b"")
    with pytest.raises(InvalidMesh, match="empty file"):
        read_mesh(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidMesh, match="cannot read file"):
        read_mesh(tmp_path / "nope.stl")


@pytest.mark.parametrize(
    "broken, message",
    [
        ("vertex 1.0 2.0\n", r"malformed vertex line at line \d+: 'vertex 1.0 2.0'"),
        ("vertex 1.0 2.0 3.0 4.0\n", r"malformed vertex line at line \d+"),
        ("vertex 1.0 abc 3.0\n", r"malformed vertex line at line \d+: 'vertex 1.0 abc 3.0'"),
        ("vertex 1,0 2,0 3,0\n", r"malformed vertex line"),
    ],
)
def test_corrupt_ascii_vertex_line(tmp_path: Path, broken: str, message: str) -> None:
    text = ascii_stl_text("arch", random_triangles(20))
    lines = text.splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if "vertex" in line and i > 40)
    lines[index] = "    " + broken
    path = tmp_path / "bad.stl"
    path.write_text("".join(lines))
    with pytest.raises(InvalidMesh, match=message):
        read_mesh(path)


def test_ascii_without_facets(tmp_path: Path) -> None:
    path = tmp_path / "nofacets.stl"
    path.write_text("solid empty\nendsolid empty\n")
    with pytest.raises(InvalidMesh, match="ASCII STL has no facets"):
        read_mesh(path)


def test_ascii_truncated(tmp_path: Path) -> None:
    text = ascii_stl_text("arch", random_triangles(20))
    path = tmp_path / "cut.stl"
    cut = text.rindex("vertex", 0, text.index("endloop", len(text) // 2))
    path.write_text(text[:cut])  # cut before the third vertex of a facet
    with pytest.raises(InvalidMesh, match="not a multiple of 3"):
        read_mesh(path)
    path.write_text(text[: text.rindex("endsolid")])  # whole facets, no endsolid
    with pytest.raises(InvalidMesh, match="without 'endsolid'"):
        read_mesh(path)


def test_ply_bad_headers(tmp_path: Path) -> None:
    good = ply_bytes(random_points(5), [[0, 1, 2]], "ascii")
    cases = {
        b"ply\nformat ascii 1.0\nelement vertex 5\n": "no 'end_header'",
        good.replace(b"format ascii 1.0", b"format utf8 1.0"): "format must be ascii",
        good.replace(b"format ascii 1.0\n", b""): "no 'format' line",
        good.replace(b"property float y", b"property float q"): "no property y",
        good.replace(b"property float x", b"property flot x"): "unknown property type",
        good.replace(b"element face 1", b"element face one"): "expected 'element <name> <count>'",
        good.replace(b"comment", b"remark").replace(b"format", b"bogus_keyword 1\nformat"): "unknown keyword 'bogus_keyword'",
        b"plyx\n" + good[4:]: "must start with",
    }
    for number, (data, message) in enumerate(cases.items()):
        path = tmp_path / f"bad{number}.ply"
        path.write_bytes(data)
        with pytest.raises(InvalidMesh, match=message):
            read_mesh(path)


def test_ply_missing_vertex_element(tmp_path: Path) -> None:
    path = tmp_path / "novertex.ply"
    path.write_bytes(b"ply\nformat ascii 1.0\nelement face 0\nproperty list uchar int vertex_indices\nend_header\n")
    with pytest.raises(InvalidMesh, match="no 'element vertex'"):
        read_mesh(path)


@pytest.mark.parametrize("fmt", ["binary_little_endian", "binary_big_endian"])
def test_ply_binary_truncated(tmp_path: Path, fmt: str) -> None:
    data = ply_bytes(random_points(100), np.zeros((50, 3), int), fmt)
    path = tmp_path / "cut.ply"
    path.write_bytes(data[:-13])  # one face short
    with pytest.raises(InvalidMesh, match="PLY body truncated: the declared faces need at least"):
        read_mesh(path)
    path.write_bytes(data[: len(data) - 50 * 13 - 600])  # inside the vertex data
    with pytest.raises(InvalidMesh, match=r"PLY body truncated: 100 vertices need \d+ bytes, actual \d+ bytes"):
        read_mesh(path)


def test_ply_ascii_truncated_and_malformed(tmp_path: Path) -> None:
    data = ply_bytes(random_points(30), np.zeros((10, 3), int), "ascii")
    path = tmp_path / "cut.ply"
    path.write_bytes(data[: data.rindex(b"3 0 0 0")])
    with pytest.raises(InvalidMesh, match="expected 10 lines after the vertices, found 9"):
        read_mesh(path)
    head, body = data.split(b"end_header\n")
    path.write_bytes(head + b"end_header\n" + b"\n".join(body.split(b"\n")[:12]))
    with pytest.raises(InvalidMesh, match="expected 30 vertex lines"):
        read_mesh(path)
    lines = body.split(b"\n")
    for bad in (b"1.0 abc 2.0", b"1.0 2.0"):
        lines[5] = bad
        path.write_bytes(head + b"end_header\n" + b"\n".join(lines))
        with pytest.raises(InvalidMesh, match="PLY vertex data malformed: expected 30 lines of 3 numbers"):
            read_mesh(path)


def test_ply_zero_faces(tmp_path: Path) -> None:
    path = write_ply(tmp_path / "cloud.ply", random_points(10), np.zeros((0, 3), int))
    with pytest.raises(InvalidMesh, match="PLY has zero triangles"):
        read_mesh(path)


def test_nan_in_binary_stl(tmp_path: Path) -> None:
    vertices = random_triangles(30_000)
    vertices[25_000, 1, 2] = np.nan
    path = tmp_path / "nan.stl"
    path.write_bytes(stl_bytes("x", vertices))
    with pytest.raises(InvalidMesh, match=r"non-finite coordinates \(NaN or infinite\)"):
        read_mesh(path)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nonfinite_in_ascii_stl(tmp_path: Path, value: str) -> None:
    text = ascii_stl_text("arch", random_triangles(5))
    index = text.rindex("vertex ") + len("vertex ")
    path = tmp_path / "nan.stl"
    path.write_text(text[:index] + value + " " + text[index:].split(" ", 1)[1])
    with pytest.raises(InvalidMesh, match="non-finite"):
        read_mesh(path)


def test_nan_in_ply(tmp_path: Path) -> None:
    points = random_points(10)
    points[4, 0] = np.inf
    path = write_ply(tmp_path / "inf.ply", points, [[0, 1, 2]], binary=True)
    with pytest.raises(InvalidMesh, match="PLY has non-finite coordinates"):
        read_mesh(path)


# --- sniffing -----------------------------------------------------------------------------------


def test_is_mesh_file(tmp_path: Path) -> None:
    upper = write_binary_stl(tmp_path / "SCAN.STL", "x", 3).path
    ply = write_random_ply(tmp_path / "scan.Ply", 3).path
    binary = write_binary_stl(tmp_path / "binary_no_suffix", "solid x", 3).path
    ascii_ = write_ascii_stl(tmp_path / "ascii_no_suffix.dat", "x", 3).path
    ply_raw = write_random_ply(tmp_path / "ply_no_suffix", 3, fmt="binary_little_endian").path
    json_file = tmp_path / "bundle.json"
    json_file.write_text('{"resourceType": "Bundle"}')
    dicom = tmp_path / "IM0001"
    dicom.write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00" * 200)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    for path in (upper, ply, binary, ascii_, ply_raw):
        assert is_mesh_file(path), path
    for path in (json_file, dicom, empty, tmp_path, tmp_path / "missing.bin"):
        assert not is_mesh_file(path), path
    assert read_mesh(binary).format == "stl-binary"
    assert read_mesh(ascii_).format == "stl-ascii"
    assert read_mesh(ply_raw).format == "ply"


# --- property: bbox round trip -----------------------------------------------------------------

extents = st.tuples(*[st.floats(0.5, 300, allow_nan=False, width=32)] * 3)
origins = st.tuples(*[st.floats(-500, 500, allow_nan=False, width=32)] * 3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    extent=extents,
    origin=origins,
    triangles=st.integers(1, 40_000),
    seed=st.integers(0, 2**16),
    kind=st.sampled_from(["binary", "ascii", "ply-ascii", "ply-binary"]),
)
def test_bbox_round_trip(tmp_path: Path, extent, origin, triangles: int, seed: int, kind: str) -> None:
    path = tmp_path / f"prop-{kind}.mesh"
    if kind == "binary":
        written = write_binary_stl(path, "prop", triangles, extent, seed, origin)
    elif kind == "ascii":
        written = write_ascii_stl(path, "prop", min(triangles, 2000), extent, seed, origin)
    else:
        fmt = "ascii" if kind == "ply-ascii" else "binary_big_endian"
        written = write_random_ply(path, min(triangles, 2000), extent, seed, origin, fmt=fmt)
    mesh = read_mesh(path)
    assert mesh.triangles == written.triangles
    assert_bbox(mesh, written)


def test_ascii_stl_with_upper_and_mixed_case_keywords(tmp_path: Path) -> None:
    vertices = random_triangles(6, extent_mm=(3.0, 0.5, 3.0), seed=7)
    text = ascii_stl_text("HalfDonut.stl", vertices)
    lines = text.splitlines()
    shouted = [ln.upper() if ln.strip().startswith(("endloop", "endfacet", "facet")) and i > len(lines) // 2 else ln
               for i, ln in enumerate(lines)]
    shouted[-1] = shouted[-1].upper()  # ENDSOLID HALFDONUT.STL
    shouted = [ln.replace("vertex", "VERTEX") if i % 7 == 3 else ln for i, ln in enumerate(shouted)]
    path = tmp_path / "mixed.stl"
    path.write_text("\n".join(shouted) + "\n")
    assert "VERTEX" in path.read_text() and "ENDSOLID" in path.read_text()
    mesh = read_mesh(path)
    assert (mesh.format, mesh.triangles) == ("stl-ascii", 6)
    assert mesh.bbox_max == pytest.approx((3.0, 0.5, 3.0))
    assert is_mesh_file(path)


def test_binary_stl_with_a_trailing_byte_is_read(tmp_path: Path) -> None:
    vertices = random_triangles(12, extent_mm=(60, 50, 20), seed=3)
    path = tmp_path / "trailing.stl"
    path.write_bytes(stl_bytes("solid part", vertices) + b"\n")
    mesh = read_mesh(path)
    assert (mesh.format, mesh.triangles) == ("stl-binary", 12)
    assert mesh.extent_mm == pytest.approx((60, 50, 20))
    path.write_bytes(stl_bytes("solid part", vertices) + bytes(50))  # a whole record more: the count is wrong
    with pytest.raises(InvalidMesh, match="size does not match its triangle count"):
        read_mesh(path)
