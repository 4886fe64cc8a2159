"""DICOM header reader (plugin/evidence/dicom.py) on real Part 10 files and DICOM JSON made by tests/factories."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.uid import DeflatedExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless
from pydicom.uid import SecondaryCaptureImageStorage, generate_uid

import plugin.evidence.dicom as dicom
from plugin.evidence.dicom import is_dicom_file, looks_like_dicom_json, read_dicom_files, read_dicom_json
from plugin.evidence.model import DicomSeries
from tests.factories.dicom import PATIENT_ID, dataset_json, write_series

CBCT = {
    "Manufacturer": "Carestream Health", "ManufacturerModelName": "CS 8100 3D", "StationName": "OMS-CBCT-1",
    "DeviceSerialNumber": "CS81-00417", "BodyPartExamined": "MANDIBLE", "ReconstructionDiameter": 80,
    "InstitutionName": "Lakeside Oral Surgery", "SeriesDescription": " CBCT mandible ", "PatientID": PATIENT_ID,
}
PIXEL_BYTES = 16 * 16 * 2  # the factory's default image: 16 x 16, 16 bits


def only_series(result) -> DicomSeries:
    assert len(result.evidence) == 1, result
    return result.evidence[0]


def cut(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def assert_no_phi(result) -> None:
    for problem in result.problems:
        assert PATIENT_ID not in problem.message and "Test^Patient" not in problem.message


# ---------------------------------------------------------------- one series


def test_cbct_series_gives_one_series_with_its_header_facts(tmp_path):
    paths = write_series(tmp_path / "cbct", slices=10, rows=32, cols=32, pixel_spacing=0.25, slice_spacing=0.5, **CBCT)
    series = only_series(read_dicom_files(paths))
    assert series.files == tuple(str(p) for p in paths) and series.source == str(paths[0])
    assert (series.modality, series.manufacturer, series.model_name) == ("CT", "Carestream Health", "CS 8100 3D")
    assert (series.station_name, series.device_serial) == ("OMS-CBCT-1", "CS81-00417")
    assert series.diameter_mm == 80.0
    assert series.height_mm == 5.0  # 10 slices 0.5 mm apart: 4.5 mm between the outer slices + one step
    assert (series.instances, series.frames) == (10, 1)
    assert series.series_description == "CBCT mandible"
    assert (series.body_part, series.institution) == ("MANDIBLE", "Lakeside Oral Surgery")
    assert series.patient_id == PATIENT_ID
    assert series.study_date == "2026-10-14"
    assert series.image_type == ("ORIGINAL", "PRIMARY", "AXIAL") and not series.derived
    assert series.contrast is None
    assert series.sop_class_uid == pydicom.uid.CTImageStorage
    assert series.ref == f"Series/{series.series_uid}"


def test_one_file_is_parsed_per_series_the_rest_matched_by_prefix(tmp_path, monkeypatch):
    paths = write_series(tmp_path, slices=20, **CBCT)
    parsed = []
    parse = dicom._parse
    monkeypatch.setattr(dicom, "_parse", lambda path: (parsed.append(path), parse(path))[1])
    assert only_series(read_dicom_files(paths)).instances == 20
    assert parsed == [str(paths[0])]


def test_diameter_falls_back_to_rows_and_columns_times_pixel_spacing(tmp_path):
    paths = write_series(tmp_path, slices=2, rows=32, cols=40, pixel_spacing=0.5)
    assert only_series(read_dicom_files(paths)).diameter_mm == 20.0  # max(32 x 0.5, 40 x 0.5)


def test_height_without_positions_is_slices_times_spacing(tmp_path):
    paths = write_series(tmp_path, slices=10, ImagePositionPatient=None, SpacingBetweenSlices=0.4, SliceThickness=1)
    assert only_series(read_dicom_files(paths)).height_mm == 4.0


def test_height_does_not_depend_on_file_names(tmp_path):
    paths = write_series(tmp_path / "src", slices=6, slice_spacing=2.0)
    renamed = [p.rename(tmp_path / f"{name}.dcm") for p, name in zip(paths, ["f", "a", "d", "b", "e", "c"])]
    assert only_series(read_dicom_files(renamed)).height_mm == 12.0


def test_a_missing_slice_leaves_a_gap_not_a_thicker_volume(tmp_path):
    paths = write_series(tmp_path, slices=6, slice_spacing=0.5)
    assert only_series(read_dicom_files(paths[:2] + paths[3:])).height_mm == 3.0


def test_multiframe_file_height_is_frames_times_thickness(tmp_path):
    paths = write_series(tmp_path, slices=1, NumberOfFrames=4, ImagePositionPatient=None, SliceThickness=0.3)
    series = only_series(read_dicom_files(paths))
    assert (series.instances, series.frames, series.height_mm) == (1, 4, 1.2)


def test_single_2d_image_has_no_height(tmp_path):
    series = only_series(read_dicom_files(write_series(tmp_path, slices=1, Modality="PX")))
    assert (series.modality, series.height_mm, series.diameter_mm) == ("PX", None, 16.0)


def test_derived_rendering_is_its_own_derived_series(tmp_path):
    paths = write_series(
        tmp_path, slices=1, SOPClassUID=SecondaryCaptureImageStorage, StationName="OMS-PLAN-WS1",
        ImageType=["DERIVED", "SECONDARY", "VOLUME RENDERING"], ImagePositionPatient=None,
    )
    series = only_series(read_dicom_files(paths))
    assert series.derived and series.image_type == ("DERIVED", "SECONDARY", "VOLUME RENDERING")
    assert (series.sop_class_uid, series.station_name) == (SecondaryCaptureImageStorage, "OMS-PLAN-WS1")


@pytest.mark.parametrize(
    ("tags", "expected"),
    [({}, None), ({"ContrastBolusAgent": ""}, False), ({"ContrastBolusAgent": "NONE"}, False),
     ({"ContrastBolusAgent": "No"}, False), ({"ContrastBolusAgent": "IOHEXOL"}, True)],
)
def test_contrast_from_contrast_bolus_agent(tmp_path, tags, expected):
    assert only_series(read_dicom_files(write_series(tmp_path, slices=2, **tags))).contrast is expected


@pytest.mark.parametrize(
    ("tags", "expected"),
    [({"StudyDate": "20261014"}, "2026-10-14"), ({"StudyDate": None, "SeriesDate": "20250102"}, "2025-01-02"),
     ({"StudyDate": None, "SeriesDate": None}, "")],
)
def test_study_date_is_iso_from_study_else_series_date(tmp_path, tags, expected):
    assert only_series(read_dicom_files(write_series(tmp_path, slices=1, **tags))).study_date == expected


def test_header_only_and_implicit_vr_files_read_like_the_others(tmp_path):
    header_only = write_series(tmp_path / "a", slices=3, with_pixels=False, **CBCT)
    implicit = write_series(tmp_path / "b", slices=3, transfer_syntax=ImplicitVRLittleEndian, **CBCT)
    result = read_dicom_files(header_only + implicit)
    assert not result.problems
    assert [(s.instances, s.height_mm, s.station_name) for s in result.evidence] == [(3, 3.0, "OMS-CBCT-1")] * 2


def recode(paths: list[Path], change) -> None:
    for path in paths:
        ds = pydicom.dcmread(path)
        change(ds)
        ds.save_as(path)


def add_icon(ds: pydicom.Dataset) -> None:
    icon = pydicom.Dataset()
    icon.update({"Rows": 4, "Columns": 4, "BitsAllocated": 8, "BitsStored": 8, "HighBit": 7, "SamplesPerPixel": 1,
                 "PixelRepresentation": 0, "PhotometricInterpretation": "MONOCHROME2", "PixelData": bytes(16)})
    ds.IconImageSequence = [icon]


def test_compressed_series_reads_with_one_parse(tmp_path, monkeypatch):
    paths = write_series(tmp_path, slices=4, **CBCT)
    recode(paths, lambda ds: ds.compress(RLELossless))
    parsed = []
    parse = dicom._parse
    monkeypatch.setattr(dicom, "_parse", lambda path: (parsed.append(path), parse(path))[1])
    series = only_series(read_dicom_files(paths))
    assert (series.instances, series.height_mm, len(parsed)) == (4, 4.0, 1)


def test_deflated_series_reads_parsing_every_file(tmp_path):
    paths = write_series(tmp_path, slices=3, transfer_syntax=DeflatedExplicitVRLittleEndian, **CBCT)
    series = only_series(read_dicom_files(paths))
    assert (series.instances, series.height_mm, series.station_name) == (3, 3.0, "OMS-CBCT-1")


def test_icon_image_pixel_data_is_not_taken_for_the_image(tmp_path):
    paths = write_series(tmp_path, slices=4, **CBCT)
    recode(paths, add_icon)
    cut(paths[2], paths[2].stat().st_size - 10)
    result = read_dicom_files(paths)
    assert only_series(result).instances == 3
    assert [p.message for p in result.problems] == [
        f"truncated: Pixel Data declares {PIXEL_BYTES} bytes but only {PIXEL_BYTES - 10} remain"
    ]


# ---------------------------------------------------------------- several series


def mixed_folder(root: Path) -> tuple[list[Path], str, str]:
    """One folder: series A in 00, 02, 04, ..., series B (another station) in the odd names between."""
    a = write_series(root / "a", slices=6, StationName="A-STATION")
    b = write_series(root / "b", slices=3, StationName="B-STATION", rows=8, cols=8)
    folder = root / "mixed"
    folder.mkdir()
    moved = [p.rename(folder / f"{2 * i:02d}.dcm") for i, p in enumerate(a)]
    moved += [p.rename(folder / f"{2 * i + 1:02d}.dcm") for i, p in enumerate(b)]
    uids = [pydicom.dcmread(folder / name, stop_before_pixels=True).SeriesInstanceUID for name in ("00.dcm", "01.dcm")]
    return sorted(moved), uids[0], uids[1]


def test_two_series_in_one_folder_are_split_and_sorted_by_uid(tmp_path):
    paths, uid_a, uid_b = mixed_folder(tmp_path)
    result = read_dicom_files(paths)
    assert not result.problems
    assert [s.series_uid for s in result.evidence] == sorted([uid_a, uid_b])
    by_uid = {s.series_uid: s for s in result.evidence}
    assert (by_uid[uid_a].instances, by_uid[uid_a].station_name, by_uid[uid_a].height_mm) == (6, "A-STATION", 6.0)
    assert (by_uid[uid_b].instances, by_uid[uid_b].station_name, by_uid[uid_b].diameter_mm) == (3, "B-STATION", 8.0)
    assert by_uid[uid_b].files == tuple(str(tmp_path / "mixed" / f"{n:02d}.dcm") for n in (1, 3, 5))


def test_one_series_split_over_two_folders_is_one_series(tmp_path):
    uids = {"StudyInstanceUID": generate_uid(), "SeriesInstanceUID": generate_uid()}
    paths = write_series(tmp_path / "one", slices=3, **uids)
    more = write_series(tmp_path / "two", slices=2, **uids)
    assert only_series(read_dicom_files(paths + more)).instances == 5


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> list[Path]:
    return mixed_folder(tmp_path_factory.mktemp("mixed"))[0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_file_order_does_not_change_the_series(mixed, data):
    shuffled = data.draw(st.permutations(mixed))
    doubled = shuffled + data.draw(st.lists(st.sampled_from(mixed), max_size=3))
    assert read_dicom_files(shuffled) == read_dicom_files(mixed) == read_dicom_files(doubled)


# ---------------------------------------------------------------- unusable files


@pytest.mark.parametrize("index", [0, 2, 4])  # the parsed file, and files matched by prefix
def test_file_cut_in_the_header_is_a_problem_and_the_rest_still_reads(tmp_path, index):
    paths = write_series(tmp_path, slices=5, **CBCT)
    cut(paths[index], 600)
    result = read_dicom_files(paths)
    assert [(p.source, p.reason) for p in result.problems] == [(str(paths[index]), "InvalidDicom")]
    assert result.problems[0].message == "truncated: the header is cut inside a data element (file has 600 bytes)"
    series = only_series(result)
    assert series.instances == 4 and str(paths[index]) not in series.files
    assert series.station_name == "OMS-CBCT-1"
    assert_no_phi(result)


@pytest.mark.parametrize("index", [0, 2, 4])
def test_file_with_pixel_data_cut_short_is_a_problem_and_the_rest_still_reads(tmp_path, index):
    paths = write_series(tmp_path, slices=5, **CBCT)
    cut(paths[index], paths[index].stat().st_size - 100)
    result = read_dicom_files(paths)
    assert [p.source for p in result.problems] == [str(paths[index])]
    assert result.problems[0].message == f"truncated: Pixel Data declares {PIXEL_BYTES} bytes but only 412 remain"
    assert only_series(result).instances == 4


def test_pixel_data_shorter_than_the_image_is_truncated(tmp_path):
    paths = write_series(tmp_path, slices=3)
    ds = pydicom.dcmread(paths[1])
    ds.PixelData = ds.PixelData[:100]
    ds.save_as(paths[1])
    result = read_dicom_files(paths)
    assert [p.message for p in result.problems] == [
        f"truncated: Pixel Data has 100 bytes, the image needs {PIXEL_BYTES}"
    ]
    assert only_series(result).instances == 2


def test_not_dicom_and_missing_files_are_problems(tmp_path):
    notes = tmp_path / "notes.dcm"
    notes.write_text("not an image at all, but longer than the 128-byte preamble " * 4)
    empty, missing = tmp_path / "empty.dcm", tmp_path / "missing.dcm"
    empty.write_bytes(b"")
    result = read_dicom_files([notes, empty, missing, *write_series(tmp_path / "ok", slices=2)])
    assert {p.source: p.message for p in result.problems} == {
        str(notes): "not a DICOM Part 10 file (no 'DICM' marker at byte 128)",
        str(empty): "not a DICOM Part 10 file (no 'DICM' marker at byte 128)",
        str(missing): "cannot read the file (FileNotFoundError)",
    }
    assert only_series(result).instances == 2


def test_is_dicom_file_sniffs_the_marker(tmp_path):
    (tmp_path / "x.txt").write_text("DICM" + "x" * 200)  # the marker, but not at byte 128
    assert is_dicom_file(write_series(tmp_path, slices=1)[0])
    assert not is_dicom_file(tmp_path / "x.txt") and not is_dicom_file(tmp_path / "nothing.dcm")


@pytest.mark.parametrize(("tags", "missing"), [
    ({"SeriesInstanceUID": None}, "SeriesInstanceUID"), ({"Modality": None}, "Modality"),
    ({"Modality": "  "}, "Modality"), ({"SeriesInstanceUID": None, "Modality": None}, "SeriesInstanceUID and Modality"),
])
def test_missing_series_uid_or_modality_is_a_problem_without_patient_data(tmp_path, tags, missing):
    paths = write_series(tmp_path, slices=2, **tags)
    result = read_dicom_files(paths)
    assert not result.evidence
    assert [(p.source, p.reason, p.message) for p in result.problems] == [
        (str(p), "InvalidDicom", f"missing {missing}") for p in paths
    ]
    assert_no_phi(result)


@pytest.fixture(scope="module")
def series_bytes(tmp_path_factory) -> dict[bool, list[bytes]]:
    """Three files' bytes, explicit (False) and implicit VR (True)."""
    root = tmp_path_factory.mktemp("cut")
    explicit = write_series(root / "explicit", slices=3, **CBCT)
    implicit = write_series(root / "implicit", slices=3, transfer_syntax=ImplicitVRLittleEndian, **CBCT)
    return {False: [p.read_bytes() for p in explicit], True: [p.read_bytes() for p in implicit]}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), implicit=st.booleans())
def test_a_file_cut_anywhere_never_raises_and_every_file_is_accounted_for(series_bytes, data, implicit):
    contents = series_bytes[implicit]
    index = data.draw(st.integers(0, 2), label="index")
    size = len(contents[index])
    keep = data.draw(st.integers(0, size - 1), label="keep")
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / f"{i:03d}.dcm" for i in range(3)]
        for i, (path, content) in enumerate(zip(paths, contents)):
            path.write_bytes(content[:keep] if i == index else content)
        result = read_dicom_files(paths)
    assert sum(s.instances for s in result.evidence) + len(result.problems) == 3
    pixel_element_start = size - PIXEL_BYTES - (8 if implicit else 12)
    if keep > pixel_element_start:  # a cut inside Pixel Data or its element header is always caught
        assert [p.source for p in result.problems] == [str(paths[index])]
    assert_no_phi(result)


def test_factory_rejects_unknown_keywords(tmp_path):
    with pytest.raises(ValueError, match="not a DICOM keyword: 'StationNmae'"):
        write_series(tmp_path, slices=1, StationNmae="typo")


# ---------------------------------------------------------------- DICOM JSON


def test_dicom_json_single_dataset(tmp_path):
    path = tmp_path / "series.json"
    data = dataset_json(StationName=" WS-1 ", ContrastBolusAgent="IOHEXOL", ReconstructionDiameter=150, Modality="CT")
    assert looks_like_dicom_json(data)
    series = only_series(read_dicom_json(path, data))
    assert (series.source, series.files, series.instances) == (str(path), (str(path),), 1)
    assert (series.station_name, series.contrast, series.diameter_mm, series.height_mm) == ("WS-1", True, 150.0, None)
    assert (series.patient_id, series.study_date) == (PATIENT_ID, "2026-10-14")


def test_dicom_json_list_is_grouped_into_series_with_problems_per_dataset(tmp_path):
    uid = generate_uid()
    slices = [dataset_json(SeriesInstanceUID=uid, ImagePositionPatient=[0, 0, z], ContrastBolusAgent="")
              for z in (2.0, 0.0, 1.0)]
    other = dataset_json(Modality="MR", SeriesDescription="TMJ")
    broken = [dataset_json(Modality=None), {"00080060": {"vr": "CS", "Value": "CT"}}, "text"]
    data = slices + [other] + broken
    assert looks_like_dicom_json(slices + [other])
    result = read_dicom_json(tmp_path / "metadata.json", data)
    assert [s.series_uid for s in result.evidence] == sorted([uid, other["0020000E"]["Value"][0]])
    by_uid = {s.series_uid: s for s in result.evidence}
    assert (by_uid[uid].instances, by_uid[uid].height_mm, by_uid[uid].contrast) == (3, 3.0, False)
    assert by_uid[uid].files == (str(tmp_path / "metadata.json"),)
    assert [p.message for p in result.problems] == [
        "dataset 4: missing Modality",
        "dataset 5: not valid DICOM JSON (TypeError)",
        "dataset 6: not a DICOM JSON dataset (expected an object keyed by tag)",
    ]
    assert {p.reason for p in result.problems} == {"InvalidDicom"}


def test_dicom_json_ignores_bulk_data_and_unneeded_tags(tmp_path):
    data = dataset_json() | {"7FE00010": {"vr": "OW", "BulkDataURI": "http://pacs/pixels"},
                             "00091001": {"vr": "UN", "InlineBinary": "AAAA"}}
    result = read_dicom_json(tmp_path / "x.json", data)
    assert not result.problems and only_series(result).modality == "CT"


@pytest.mark.parametrize(("data", "expected"), [
    (dataset_json(), True), ([dataset_json(), dataset_json()], True),
    ({"resourceType": "ImagingStudy", "id": "x"}, False), ({}, False), ([], False), ("00080060", False),
    ({"00080060": "CT"}, False), ({"0008006": {"vr": "CS"}}, False), ([dataset_json(), {"a": 1}], False),
])
def test_looks_like_dicom_json(data, expected):
    assert looks_like_dicom_json(data) is expected


# ---------------------------------------------------------------- measurements, acquisition evidence, warnings


def test_zero_pixel_spacing_is_unknown_never_zero_mm(tmp_path):
    paths = write_series(tmp_path, slices=3, rows=256, cols=256, pixel_spacing=0.0, slice_spacing=0.2)
    series = only_series(read_dicom_files(paths))
    assert series.diameter_mm is None
    assert series.voxel_mm == ()
    assert series.height_mm == 0.6  # the slice positions still measure the height


def test_zero_slice_spacing_and_one_position_leave_the_height_unknown(tmp_path):
    paths = write_series(tmp_path, slices=3, slice_spacing=0.0, ImagePositionPatient=[0, 0, 0], SliceThickness=0)
    assert only_series(read_dicom_files(paths)).height_mm is None


def test_one_file_with_images_in_acquisition_gives_the_height(tmp_path):
    paths = write_series(tmp_path, slices=1, slice_spacing=0.2, ImagesInAcquisition=390)
    assert only_series(read_dicom_files(paths)).height_mm == 78.0


def test_acquisition_attributes_and_voxel_size_are_kept(tmp_path):
    paths = write_series(tmp_path, slices=2, pixel_spacing=0.3, slice_spacing=0.3, KVP="90", ExposureTime=6090,
                         XRayTubeCurrent=10, CTDIvol=None, ScanOptions="PORTRAIT")
    series = only_series(read_dicom_files(paths))
    assert dict(series.acquisition) == {"KVP": "90", "ExposureTime": "6090", "XRayTubeCurrent": "10",
                                        "ScanOptions": "PORTRAIT"}
    assert series.voxel_mm == (0.3, 0.3, 0.3)


def test_uncompressed_ybr_full_422_is_two_thirds_of_rgb_and_not_truncated(tmp_path):
    rows = cols = 10
    tags = {"SamplesPerPixel": 3, "PhotometricInterpretation": "YBR_FULL_422", "BitsAllocated": 8, "BitsStored": 8,
            "HighBit": 7, "PlanarConfiguration": 0, "SOPClassUID": SecondaryCaptureImageStorage, "Modality": "OT"}
    paths = write_series(tmp_path / "ok", slices=1, rows=rows, cols=cols, with_pixels=False, **tags)
    ds = pydicom.dcmread(paths[0])
    ds.PixelData = bytes(rows * cols * 2)  # 4:2:2: Y Y Cb Cr per two pixels
    ds["PixelData"].VR = "OB"
    ds.save_as(paths[0])
    result = read_dicom_files(paths)
    assert result.problems == [] and only_series(result).modality == "OT"
    ds.PixelData = bytes(rows * cols)  # less than 4:2:2 needs: still truncated
    ds["PixelData"].VR = "OB"
    ds.save_as(paths[0])
    assert [p.message for p in read_dicom_files(paths).problems] == [
        f"truncated: Pixel Data has {rows * cols} bytes, the image needs {rows * cols * 2}"]


def test_malformed_values_never_warn_raw(tmp_path, recwarn):
    import warnings
    paths = write_series(tmp_path, slices=2)
    element = b"\x28\x00\x08\x00IS\x02\x00"  # NumberOfFrames, read before Pixel Data is checked
    for path in paths:  # an IS of '1A': pydicom warns while converting it
        ds = pydicom.dcmread(path)
        ds.NumberOfFrames = "1"
        ds.save_as(path)
        path.write_bytes(path.read_bytes().replace(element + b"1 ", element + b"1A"))
    warnings.simplefilter("always")
    result = read_dicom_files(paths)
    assert only_series(result).instances == 2
    assert [w for w in recwarn.list if issubclass(w.category, UserWarning)] == []
    json_result = read_dicom_json(tmp_path / "x.json", dataset_json() | {
        "00201002": {"vr": "IS", "Value": ["7A"]}, "00180050": {"vr": "DS", "Value": ["abc"]}})
    assert [w for w in recwarn.list if issubclass(w.category, UserWarning)] == []
    assert json_result.evidence or json_result.problems


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spacing=st.sampled_from([None, [0, 0], [0.0, 0.3], [-0.3, -0.3], [0.3, 0.3]]),
       recon=st.sampled_from([None, 0, -5, 160]), thickness=st.sampled_from([None, 0, 0.3]))
def test_a_measurement_is_never_zero_mm(tmp_path, spacing, recon, thickness):
    """Whatever zero, negative or absent values a header holds, a size is either measured (> 0) or unknown."""
    items = [dataset_json(SeriesInstanceUID="1.2.3", PixelSpacing=spacing, ReconstructionDiameter=recon,
                          SliceThickness=thickness, ImagePositionPatient=[0, 0, 0], InstanceNumber=n + 1)
             for n in range(3)]
    series = only_series(read_dicom_json(tmp_path / "x.json", items))
    for size in (series.diameter_mm, series.height_mm):
        assert size is None or size > 0
    assert all(v > 0 for v in series.voxel_mm)
    if recon == 160:
        assert series.diameter_mm == 160
