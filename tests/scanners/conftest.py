"""A watcher on a real store (SQLite file) with the pipeline's own functions processing what it takes."""
from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from plugin import feed, pipeline
from plugin.scanners.watch import Watcher, WatchConfig
from plugin.store import Store
from plugin.store.events import accept
from plugin.store.models import Event
from tests.pipeline.runner import ROOT
from tests.store.databases import settings_for

EXAMPLE = ROOT / "examples" / "orthognathic-planning"
PRACTICE = "http://hl7.org/fhir/sid/us-npi|1234567893"
MRN_SYSTEM, MRN = "urn:mrn", "MRN-R"          # the example Patient's identifier
PATTERN = "{PatientID}_{date}_{jaw}.stl"
POLL_S = 0.02


@pytest.fixture
def ctx(tmp_path):
    url = f"sqlite:///{tmp_path / 'dwcoder.db'}"
    settings = settings_for(url, tmp_path, DWCODER_PRACTICE=PRACTICE, SCANNER_PATTERNS=PATTERN,
                            SCANNER_PATIENT_SYSTEM=MRN_SYSTEM, SCANNER_TRUNCATED_AFTER_S="0.3")
    c = pipeline.Context(settings, Store(url))
    yield c
    c.store.dispose()


@pytest.fixture
def folder(tmp_path) -> Path:
    path = tmp_path / "exports"
    path.mkdir()
    return path


@pytest.fixture
def watcher(ctx, folder) -> Watcher:
    return Watcher(ctx.store, ctx.settings, WatchConfig.from_settings(ctx.settings, folder))


def poll_until(watcher: Watcher, done, timeout_s: float = 10.0) -> None:
    """Poll every POLL_S until done() (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        watcher.poll()
        if done():
            return
        time.sleep(POLL_S)
    raise AssertionError(f"not done after {timeout_s} s of polling")


def events(ctx, source: str = "scanner") -> list[Event]:
    with ctx.store.sessions() as s:
        return list(s.scalars(select(Event).where(Event.source == source).order_by(Event.id)))


def write_slowly(path: Path, data: bytes, chunk: int, pause_s: float) -> threading.Thread:
    """Write `data` to `path` in chunks with pauses, as a slow exporter or a network copy does."""
    def run() -> None:
        with path.open("wb") as fh:
            for i in range(0, len(data), chunk):
                fh.write(data[i:i + chunk])
                fh.flush()
                time.sleep(pause_s)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def send_example_without_meshes(ctx) -> None:
    """The example case's FHIR resources and DICOM files, as the pipeline receives them from the EHR / PACS."""
    accept(ctx.store, [e for e in feed.folder_events(EXAMPLE) if e.kind != "mesh-file"])


def example_copy(tmp_path: Path, stl_name: str) -> Path:
    """The example case folder with its STL under another name (what `dwcoder suggest` is compared on)."""
    target = tmp_path / "suggest-case"
    shutil.copytree(EXAMPLE, target)
    (target / "upper.stl").rename(target / stl_name)
    return target
