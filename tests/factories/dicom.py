"""Real DICOM test data written with pydicom: Part 10 series (`write_series`) and DICOM JSON (`dataset_json`).

Used by the reader's tests, the benchmark (bench/bench_dicom.py) and clinical test cases. Every DICOM keyword can
be set through `**tags`; a tag given as None is left out (to test a missing SeriesInstanceUID, say).
Defaults describe a plain CT slice of a made-up patient (no real person's data).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

PATIENT_ID = "TEST-0001"
STUDY_DATE = "20261014"


def write_series(
    folder: Path, *, slices: int, rows: int = 16, cols: int = 16, pixel_spacing: float = 1.0,
    slice_spacing: float = 1.0, with_pixels: bool = True, transfer_syntax: str = ExplicitVRLittleEndian,
    **tags: Any,
) -> list[Path]:
    """Write `slices` files 000.dcm, 001.dcm, ... of one series into `folder`; returns their paths.

    Study/Series UIDs are generated unless given (StudyInstanceUID=, SeriesInstanceUID=). Slices are axial,
    ImagePositionPatient z stepping by `slice_spacing`. Pixel data is 16-bit (Rows x Columns x NumberOfFrames)
    unless `with_pixels` is False (a header-only file). `transfer_syntax` must be uncompressed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tags = {"StudyInstanceUID": generate_uid(), "SeriesInstanceUID": generate_uid(), **tags}
    frames = int(tags.get("NumberOfFrames") or 1)
    pixels = _pixels(rows, cols, frames) if with_pixels else None
    paths = []
    for index in range(slices):
        ds = _slice(index, rows, cols, pixel_spacing, slice_spacing, tags)
        if pixels is not None:
            ds.PixelData = pixels
        paths.append(_save(ds, folder / f"{index:03d}.dcm", transfer_syntax))
    return paths


def dataset_json(**tags: Any) -> dict[str, Any]:
    """One DICOM JSON dataset (PS3.18 Annex F) of a CT slice, with `tags` set (None: left out)."""
    tags = {"StudyInstanceUID": generate_uid(), "SeriesInstanceUID": generate_uid(), **tags}
    return _slice(0, 16, 16, 1.0, 1.0, tags).to_json_dict()


def _slice(index: int, rows: int, cols: int, pixel_spacing: float, slice_spacing: float,
           tags: dict[str, Any]) -> Dataset:
    values: dict[str, Any] = {
        "SOPClassUID": CTImageStorage, "SOPInstanceUID": generate_uid(), "Modality": "CT",
        "PatientName": "Test^Patient", "PatientID": PATIENT_ID, "StudyDate": STUDY_DATE, "SeriesDate": STUDY_DATE,
        "ImageType": ["ORIGINAL", "PRIMARY", "AXIAL"], "InstanceNumber": index + 1,
        "ImagePositionPatient": [-cols * pixel_spacing / 2, -rows * pixel_spacing / 2, index * slice_spacing],
        "ImageOrientationPatient": [1, 0, 0, 0, 1, 0], "PixelSpacing": [pixel_spacing, pixel_spacing],
        "SliceThickness": slice_spacing, "Rows": rows, "Columns": cols, "SamplesPerPixel": 1,
        "PhotometricInterpretation": "MONOCHROME2", "BitsAllocated": 16, "BitsStored": 12, "HighBit": 11,
        "PixelRepresentation": 0, **tags,
    }
    ds = Dataset()
    for keyword, value in values.items():
        if tag_for_keyword(keyword) is None:
            raise ValueError(f"not a DICOM keyword: {keyword!r}")
        if value is not None:
            setattr(ds, keyword, value)
    return ds


def _save(ds: Dataset, path: Path, transfer_syntax: str) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.get("SOPClassUID", CTImageStorage)
    meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID", generate_uid())
    meta.TransferSyntaxUID = transfer_syntax
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)
    return path


def _pixels(rows: int, cols: int, frames: int) -> bytes:
    """A 12-bit gradient, the same for every slice (content does not matter to a header reader)."""
    return (np.arange(rows * cols * frames, dtype=np.uint32) % 4096).astype("<u2").tobytes()
