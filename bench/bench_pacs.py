"""PACS benchmark (issue 8), in one run against a real Orthanc (Debian orthanc + orthanc-dicomweb):

1. What the rules need of a 400-slice CBCT series (plugin.dicomweb.study_datasets: QIDO-RS series + QIDO-RS
   instances with ImagePositionPatient + WADO-RS metadata of one instance), time and bytes, against fetching the
   full WADO-RS series metadata (GET .../series/{uid}/metadata). Target: at least 10x less time.
2. Last DICOM file reaching Orthanc -> the study's ChargeItems stored at the FHIR server (the validating FHIR test
   server of tests/fhirserver, FHIR_BASE_URL set to it; local queue; the shipped Lua script posting OnStableStudy to
   the plugin's route), over `--studies` studies, each a new patient's CBCT (the example's series under new UIDs
   and PatientID BENCH-n). The ChargeItems' identifiers are those `dwcoder suggest` gives for the study's files;
   the bench searches the FHIR server for them by identifier every 20 ms. Target: p95 under StableAge + 2 s.
   Where the time goes: from the database's stamps (notification received, event finished, posting written).

    python bench/bench_pacs.py [--slices 400] [--size 256] [--repeat 15] [--studies 30] [--stable-age 1]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pydicom  # noqa: E402
from pydicom.uid import generate_uid  # noqa: E402

from plugin.dicomweb import DicomWeb, study_datasets  # noqa: E402
from tests.factories.dicom import write_series  # noqa: E402
from tests.pacs.conftest import PASSWORD, SECRET, USER, Orthanc, Served  # noqa: E402

EXAMPLE = ROOT / "examples" / "orthognathic-planning"
PRACTICE = "http://hl7.org/fhir/sid/us-npi|1234567893"
LINE_SYSTEM = "https://dwcoder.org/fhir/sid/charge-line"
CBCT_TAGS = {"Manufacturer": "Planmeca", "ManufacturerModelName": "ProMax 3D Mid", "StationName": "CBCT-OP1",
             "SeriesDescription": "CBCT 3D", "BodyPartExamined": "JAW", "KVP": 90, "XRayTubeCurrent": 8,
             "ExposureTime": 12000, "InstitutionName": "Bench Oral Surgery"}


def part1(tmp: Path, slices: int, size: int, repeat: int) -> dict:
    orthanc = Orthanc(tmp / "orthanc-1").start({})
    try:
        study = generate_uid()
        for path in write_series(tmp / "cbct", slices=slices, rows=size, cols=size, pixel_spacing=0.3,
                                 slice_spacing=0.3, StudyInstanceUID=study, **CBCT_TAGS):
            orthanc.upload(path)
        ours, full = [], []
        for _ in range(repeat):
            with DicomWeb(orthanc.dicomweb, ("basic", USER, PASSWORD)) as client:
                start = time.perf_counter()
                read = study_datasets(client, study)
                ours.append(time.perf_counter() - start)
                ours_bytes, ours_requests = client.traffic.bytes, client.traffic.requests
            with DicomWeb(orthanc.dicomweb, ("basic", USER, PASSWORD)) as client:
                start = time.perf_counter()
                series = client.series(study)
                client.series_metadata(study, series[0]["0020000E"]["Value"][0])
                full.append(time.perf_counter() - start)
                full_bytes = client.traffic.bytes
        assert len(read.datasets) == slices
        return {"ours_s": statistics.median(ours), "full_s": statistics.median(full), "ours_bytes": ours_bytes,
                "full_bytes": full_bytes, "requests": ours_requests}
    finally:
        orthanc.stop()


def study_files(tmp: Path, n: int) -> tuple[Path, list[Path]]:
    """The example's CBCT series as a new study of a new patient (PatientID BENCH-n): a case of its own, so its
    ChargeItem is new at the FHIR server and its arrival there is this study's doing."""
    folder = tmp / f"study-{n}"
    folder.mkdir()
    study, series = generate_uid(), generate_uid()
    out = []
    for path in sorted((EXAMPLE / "cbct").glob("*.dcm")):
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study, series, generate_uid()
        ds.PatientID = f"BENCH-{n}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(folder / path.name)
        out.append(folder / path.name)
    return folder, out


def expected_identifiers(folder: Path) -> list[str]:
    """The ChargeItem identifiers `dwcoder suggest` gives for the study's files (the pipeline gives the same)."""
    from tests.pipeline.runner import cli_items

    return [item["identifier"][0]["value"] for item in cli_items(folder, PRACTICE)]


def wait_at_fhir(fhir, idents: list[str], timeout: float, poll_s: float = 0.02) -> float | None:
    """Poll the FHIR server (search ChargeItem by identifier, every `poll_s`) until every identifier is there;
    returns the perf_counter time they all were, or None on timeout."""
    missing = set(idents)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        for ident in sorted(missing):
            if fhir.search("ChargeItem", {"identifier": f"{LINE_SYSTEM}|{ident}"}):
                missing.discard(ident)
        if not missing:
            return time.perf_counter()
        time.sleep(poll_s)
    return None


def part2(tmp: Path, studies: int, stable_age: int) -> dict:
    """Last file reaching Orthanc -> every ChargeItem of the study readable at the validating FHIR test server."""
    from plugin import pipeline
    from plugin.ehr import FhirClient
    from plugin.settings import Settings
    from plugin.store import Store
    from plugin.web.app import create_app
    from tests.fhirserver.fixture import FhirServer

    (tmp / "fhir").mkdir()
    server = FhirServer(tmp / "fhir")
    server.start()
    orthanc = Orthanc(tmp / "orthanc-2", stable_age)
    spec = {"dicomweb": orthanc.dicomweb, "auth": "basic", "user": USER, "password": PASSWORD, "secrets": [SECRET]}
    settings = Settings.from_env({"DWCODER_HOME": str(tmp), "DWCODER_SETTLE_S": "0", "PACS": json.dumps({"office": spec}),
                                  "DWCODER_PRACTICE": PRACTICE, "FHIR_BASE_URL": server.base_url}, dotenv=None)
    assert not settings.embedded_ehr
    ctx = pipeline.Context(settings, Store(settings.database_url))
    local = pipeline.start_local(ctx, threads=1)
    served = Served(create_app(settings, ctx.store)).start()
    orthanc.start({"DWCODER_PACS_URL": served.url + "/pacs/office/stable-study", "DWCODER_PACS_SECRET": SECRET})
    fhir = FhirClient(server.base_url)
    rows = []
    try:
        for n in range(studies):
            folder, files = study_files(tmp, n)
            idents = expected_identifiers(folder)
            assert idents, "the study gives ChargeItems"
            for path in files:
                orthanc.upload(path)
            last, last_wall = time.perf_counter(), time.time()
            seen = wait_at_fhir(fhir, idents, stable_age + 30)
            if seen is None:
                raise SystemExit(f"study {n}: ChargeItems not at the FHIR server within {stable_age + 30} s; "
                                 f"events: {_events(ctx)}; notifications seen: {served.seen}")
            rows.append({"total": seen - last, **_stages(ctx, str(pydicom.dcmread(files[0]).StudyInstanceUID),
                                                         idents, last_wall, seen - last)})
    finally:
        fhir.close()
        served.stop()
        local.stop()
        orthanc.stop()
        server.kill()
    return {"rows": rows}


def _events(ctx) -> list:
    from sqlalchemy import select

    from plugin.store.models import Event

    with ctx.store.sessions() as s:
        return [(e.kind, e.status, e.last_error) for e in s.scalars(select(Event))]


def _stages(ctx, study: str, idents: list[str], last_wall: float, total: float) -> dict:
    """Where the time went, from the database's clock stamps: Orthanc's notification arriving (StableAge and
    Orthanc's check), the event processed (queue + DICOMweb fetch + store), the ChargeItems written at the FHIR
    server (settle + recompute + write-back, stamped after the server answered), and the poll seeing them."""
    from sqlalchemy import select

    from plugin.store.models import Event, Posting

    with ctx.store.sessions() as s:
        event = next(e for e in s.scalars(select(Event).where(Event.kind == "pacs-study"))
                     if json.loads(e.body)["study"] == study)
        posted = max(s.scalars(select(Posting.at).where(Posting.identifier.in_(idents), Posting.action == "upsert")))
        received, finished = _epoch(event.received_at), _epoch(event.finished_at)
    return {"notified": received - last_wall, "processed": finished - received, "posted": _epoch(posted) - finished,
            "seen": total - (_epoch(posted) - last_wall)}


def _epoch(stamp) -> float:
    from datetime import timezone

    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp()


def _pct(values: list[float], p: int) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--slices", type=int, default=400)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--studies", type=int, default=30)
    p.add_argument("--stable-age", type=int, default=1)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pacs-") as tmp:
        one = part1(Path(tmp), args.slices, args.size, args.repeat)
        print(f"{args.slices}-slice CBCT, what the rules need: {one['ours_s'] * 1000:.1f} ms, {one['ours_bytes'] / 1024:.1f} KiB "
              f"in {one['requests']} requests (median of {args.repeat})")
        print(f"full WADO-RS series metadata:          {one['full_s'] * 1000:.1f} ms, {one['full_bytes'] / 1024:.1f} KiB")
        print(f"ratio: {one['full_s'] / one['ours_s']:.1f}x less time, {one['full_bytes'] / one['ours_bytes']:.1f}x fewer bytes "
              f"(target >= 10x less time)")
        two = part2(Path(tmp), args.studies, args.stable_age)
        rows = two["rows"]
        total = [r["total"] for r in rows]
        p95 = _pct(total, 95)
        print(f"last file -> ChargeItems stored at the FHIR server ({len(rows)} studies, StableAge {args.stable_age} s, "
              f"polled every 20 ms): p50 {_pct(total, 50):.2f} s, p95 {p95:.2f} s, max {max(total):.2f} s "
              f"(target p95 < {args.stable_age + 2} s: {'MET' if p95 < args.stable_age + 2 else 'MISSED'})")
        print("  where the time goes (p50 / max s): " + "; ".join(
            f"{label} {_pct([r[key] for r in rows], 50):.3f} / {max(r[key] for r in rows):.3f}" for key, label in (
                ("notified", "Orthanc's OnStableStudy posted to the plugin"),
                ("processed", "event queued + DICOMweb fetch + stored"),
                ("posted", "case recomputed + ChargeItems written to the FHIR server"),
                ("seen", "until the poll read them"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
