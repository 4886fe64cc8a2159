"""PACS benchmark (issue 8), in one run against a real Orthanc (Debian orthanc + orthanc-dicomweb):

1. What the rules need of a 400-slice CBCT series (plugin.dicomweb.study_datasets: QIDO-RS series + QIDO-RS
   instances with ImagePositionPatient + WADO-RS metadata of one instance), time and bytes, against fetching the
   full WADO-RS series metadata (GET .../series/{uid}/metadata). Target: at least 10x less time.
2. Last DICOM file reaching Orthanc -> its study's case recomputed and its ChargeItems upserted (embedded EHR,
   local queue, the shipped Lua script posting OnStableStudy to the plugin's route), over `--studies` studies.
   Target: p95 under StableAge + 2 s.

    python bench/bench_pacs.py [--slices 400] [--size 256] [--repeat 5] [--studies 10] [--stable-age 1]
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


def part2(tmp: Path, studies: int, stable_age: int) -> list[float]:
    from sqlalchemy import select

    from plugin import feed, pipeline
    from plugin.settings import Settings
    from plugin.store import Store
    from plugin.store.models import Case, Event
    from plugin.web.app import create_app

    example = ROOT / "examples" / "orthognathic-planning"
    orthanc = Orthanc(tmp / "orthanc-2", stable_age)
    spec = {"dicomweb": orthanc.dicomweb, "auth": "basic", "user": USER, "password": PASSWORD, "secrets": [SECRET]}
    settings = Settings.from_env({"DWCODER_HOME": str(tmp), "DWCODER_SETTLE_S": "0", "PACS": json.dumps({"office": spec}),
                                  "DWCODER_PRACTICE": "http://hl7.org/fhir/sid/us-npi|1234567893"}, dotenv=None)
    ctx = pipeline.Context(settings, Store(settings.database_url))
    local = pipeline.start_local(ctx, threads=1)
    served = Served(create_app(settings, ctx.store)).start()
    orthanc.start({"DWCODER_PACS_URL": served.url + "/pacs/office/stable-study", "DWCODER_PACS_SECRET": SECRET})
    latencies = []
    try:
        for event in feed.folder_events(example):
            if event.kind != "dicom-file":
                from plugin.store.events import accept

                for item in accept(ctx.store, [event]):
                    pipeline.process_event(ctx, item.event_id)
        files = sorted((example / "cbct").glob("*.dcm"))
        for n in range(studies):
            study, series = generate_uid(), generate_uid()
            for path in files:
                ds = pydicom.dcmread(path)
                ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study, series, generate_uid()
                ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                out = tmp / f"s{n}-{path.name}"
                ds.save_as(out)
                orthanc.upload(out)
            last = time.perf_counter()
            deadline = last + stable_age + 30
            while time.perf_counter() < deadline:
                with ctx.store.sessions() as s:
                    done = next((e.id for e in s.scalars(select(Event).where(Event.kind == "pacs-study",
                                                                             Event.status == "done"))
                                 if json.loads(e.body)["study"] == study), None)
                    dirty = s.scalar(select(Case.key).where(Case.dirty.is_(True)).limit(1))
                if done is not None and dirty is None:
                    latencies.append(time.perf_counter() - last)
                    break
                time.sleep(0.02)
            else:
                with ctx.store.sessions() as s:
                    rows = [(e.kind, e.status, e.last_error) for e in s.scalars(select(Event))]
                raise SystemExit(f"study {n} not coded within {stable_age + 30} s; events: {rows}; "
                                 f"notifications seen: {served.seen}")
    finally:
        served.stop()
        local.stop()
        orthanc.stop()
    return latencies


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--slices", type=int, default=400)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--studies", type=int, default=10)
    p.add_argument("--stable-age", type=int, default=1)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pacs-") as tmp:
        one = part1(Path(tmp), args.slices, args.size, args.repeat)
        print(f"{args.slices}-slice CBCT, what the rules need: {one['ours_s'] * 1000:.1f} ms, {one['ours_bytes'] / 1024:.1f} KiB "
              f"in {one['requests']} requests (median of {args.repeat})")
        print(f"full WADO-RS series metadata:          {one['full_s'] * 1000:.1f} ms, {one['full_bytes'] / 1024:.1f} KiB")
        print(f"ratio: {one['full_s'] / one['ours_s']:.1f}x less time, {one['full_bytes'] / one['ours_bytes']:.1f}x fewer bytes "
              f"(target >= 10x less time)")
        lat = sorted(part2(Path(tmp), args.studies, args.stable_age))
        p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
        print(f"last file -> case coded, ChargeItems upserted ({len(lat)} studies, StableAge {args.stable_age} s): "
              f"median {statistics.median(lat):.2f} s, p95 {p95:.2f} s, max {lat[-1]:.2f} s "
              f"(target p95 < {args.stable_age + 2} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
