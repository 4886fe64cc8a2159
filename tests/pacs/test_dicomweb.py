"""plugin.dicomweb against a real Orthanc: what the rules need, read from DICOM JSON built over DICOMweb, equals
what the reader gets from the Part 10 files themselves; never a BulkDataURI."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from pydicom.uid import generate_uid

from plugin.dicomweb import LIST_ALL_MAX, DicomWeb, study_datasets
from plugin.errors import PacsStudyMissing, PacsUnavailable
from plugin.evidence.dicom import read_dicom_files, read_dicom_json
from tests.factories.dicom import write_series
from tests.pacs.conftest import PASSWORD, USER

CBCT = {"Manufacturer": "Planmeca", "ManufacturerModelName": "ProMax 3D Mid", "StationName": "CBCT-OP1",
        "SeriesDescription": "CBCT", "KVP": 90}


def _facts(series):
    return replace(series, source="", files=())


@pytest.mark.parametrize("slices,spacing", [(12, 0.4), (LIST_ALL_MAX + 36, 0.3)], ids=["listed", "from-ends"])
def test_dicomweb_reading_equals_part10_reading(slices, spacing, tmp_path, orthanc_factory):
    orthanc = orthanc_factory().start({})
    study = generate_uid()
    files = write_series(tmp_path / "cbct", slices=slices, rows=32, cols=40, pixel_spacing=0.25,
                         slice_spacing=spacing, StudyInstanceUID=study, **CBCT)
    write_series(tmp_path / "pano", slices=1, StudyInstanceUID=study, Modality="PX", StationName="PANO-2")
    for path in sorted(tmp_path.rglob("*.dcm")):
        orthanc.upload(path)
    with DicomWeb(orthanc.dicomweb, ("basic", USER, PASSWORD)) as client:
        read = study_datasets(client, study)
        requests = client.traffic.requests
    assert not any("BulkDataURI" in json.dumps(d) or "InlineBinary" in json.dumps(d) for d in read.datasets)
    got = read_dicom_json(Path("pacs.json"), read.datasets)
    want = read_dicom_files(sorted(tmp_path.rglob("*.dcm")))
    assert not got.problems
    assert sorted(map(_facts, got.evidence), key=lambda s: s.series_uid) == sorted(map(_facts, want.evidence), key=lambda s: s.series_uid)
    cbct = next(s for s in got.evidence if s.modality == "CT")
    assert cbct.instances == slices and cbct.height_mm == pytest.approx(slices * spacing)
    # series query; per series one metadata and one instance query, or two (first and last) for a long series
    assert requests == (5 if slices <= LIST_ALL_MAX else 6)
    assert len(files) == slices


def test_stations_leave_other_series_out(tmp_path, orthanc_factory):
    orthanc = orthanc_factory().start({})
    study = generate_uid()
    write_series(tmp_path / "cbct", slices=3, StudyInstanceUID=study, **CBCT)
    write_series(tmp_path / "other", slices=2, StudyInstanceUID=study, StationName="HOSPITAL-CT")
    for path in sorted(tmp_path.rglob("*.dcm")):
        orthanc.upload(path)
    with DicomWeb(orthanc.dicomweb, ("basic", USER, PASSWORD)) as client:
        read = study_datasets(client, study, stations=["cbct-op1"])
    series = read_dicom_json(Path("x.json"), read.datasets).evidence
    assert [s.station_name for s in series] == ["CBCT-OP1"]
    assert [why for _, why in read.left_out] == ["not acquired at one of the practice's stations"]


def test_unknown_study_and_unreachable_pacs(tmp_path, orthanc_factory):
    orthanc = orthanc_factory().start({})
    with DicomWeb(orthanc.dicomweb, ("basic", USER, PASSWORD)) as client:
        with pytest.raises(PacsStudyMissing, match="no series"):
            study_datasets(client, generate_uid())
    with DicomWeb(orthanc.dicomweb, ("basic", USER, "wrong")) as client:
        from plugin.errors import PacsRefused

        with pytest.raises(PacsRefused, match="refused the request \\(401\\)"):
            study_datasets(client, generate_uid())
    orthanc.stop()
    with DicomWeb(orthanc.dicomweb, ("basic", USER, PASSWORD), timeout=2) as client:
        with pytest.raises(PacsUnavailable, match="cannot reach the PACS"):
            study_datasets(client, generate_uid())


def test_bearer_auth_and_an_answer_that_is_not_dicom_json(serve):
    """A loopback DICOMweb stand-in that records what it was sent."""
    from plugin.errors import PacsRefused

    seen = []

    async def pacs(scope, receive, send):
        headers = dict(scope["headers"])
        seen.append((scope["path"], headers.get(b"authorization"), headers.get(b"accept")))
        body = b'{"not": "a list"}' if scope["path"].endswith("/series") else b"[]"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/dicom+json")]})
        await send({"type": "http.response.body", "body": body})

    served = serve(pacs)
    with DicomWeb(served.url + "/dicom-web/", ("bearer", "tok-123")) as client:
        with pytest.raises(PacsRefused, match="JSON that is not a DICOM JSON array"):
            study_datasets(client, "1.2.3")
    assert seen == [("/dicom-web/studies/1.2.3/series", b"Bearer tok-123", b"application/dicom+json")]
