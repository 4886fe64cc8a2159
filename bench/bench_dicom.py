"""Benchmark: the DICOM header reader against plain pydicom on one CBCT series.

    python bench/bench_dicom.py [--slices 300] [--size 512] [--repeat 3] [--check]

Generates once, into a temporary directory removed afterwards, a CBCT series of `--slices` files of
`--size` x `--size` 16-bit pixels (300 x 512 x 512: about 157 MB) with tests/factories/dicom.py, then measures
in the same run, best of `--repeat` each (the files are in the page cache for both):

    (a) plugin.evidence.dicom.read_dicom_files on the folder's files;
    (b) the baseline: a full `pydicom.dcmread` of every file (header and pixel data bytes, no decoding).

Prints each time, the ratio (target: (a) takes at least 10x less time than (b)) and the bytes each read in one
pass (delta of `rchar` in /proc/self/io; "n/a" where that file does not exist). With --check the exit status is 1
when the ratio misses the target. Runs in well under a minute on 2 cores; needs no installation (the repository
root is put on sys.path).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pydicom  # noqa: E402

from plugin.evidence.dicom import read_dicom_files  # noqa: E402
from tests.factories.dicom import write_series  # noqa: E402

TARGET = 10.0
CBCT = {
    "Manufacturer": "Carestream Health", "ManufacturerModelName": "CS 8100 3D", "StationName": "OMS-CBCT-1",
    "DeviceSerialNumber": "CS81-00417", "BodyPartExamined": "MANDIBLE", "SeriesDescription": "CBCT mandible",
}


def rchar() -> int | None:
    """Bytes this process has read so far (Linux /proc/self/io), or None."""
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def measure(run: Callable[[], object], repeat: int) -> tuple[float, int | None]:
    """Best wall time of `repeat` runs, and the bytes read by one run."""
    before = rchar()
    run()
    after = rchar()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best, (after - before if before is not None and after is not None else None)


def megabytes(count: int | None) -> str:
    return "n/a" if count is None else f"{count / 1e6:9.2f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 when the ratio misses the target")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-dicom-") as folder:
        start = time.perf_counter()
        paths = write_series(Path(folder), slices=args.slices, rows=args.size, cols=args.size, pixel_spacing=0.16,
                             slice_spacing=0.16, **CBCT)
        total = sum(p.stat().st_size for p in paths)
        print(f"generated {len(paths)} files, {total / 1e6:.1f} MB, in {time.perf_counter() - start:.1f} s")
        result = read_dicom_files(paths)
        assert not result.problems and [s.instances for s in result.evidence] == [len(paths)], result.problems
        reader, reader_bytes = measure(lambda: read_dicom_files(paths), args.repeat)
        baseline, baseline_bytes = measure(lambda: [pydicom.dcmread(p) for p in paths], args.repeat)
    ratio = baseline / reader
    print(f"(a) read_dicom_files      {reader * 1000:9.1f} ms   read {megabytes(reader_bytes)}")
    print(f"(b) pydicom.dcmread, all  {baseline * 1000:9.1f} ms   read {megabytes(baseline_bytes)}")
    print(f"ratio (b)/(a): {ratio:.1f}x (target: at least {TARGET:.0f}x) -> {'ok' if ratio >= TARGET else 'MISSED'}")
    return 1 if args.check and ratio < TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
