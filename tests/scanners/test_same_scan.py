"""A scan counted once per case: the same STL from the watched folder and as an EHR DocumentReference attachment
(two channels, two names) gives the ChargeItems of one copy, at the real FHIR server and from `dwcoder suggest`;
a different scan still counts."""
from __future__ import annotations

import json
import shutil
import struct

import pytest

from plugin import feed, pipeline
from plugin.ehr import FhirClient
from plugin.scanners.watch import Watcher, WatchConfig
from plugin.store import Store
from plugin.store.events import accept
from tests.ehr.test_binary import put_binary
from tests.pipeline.runner import active, cli_items, drain
from tests.pipeline.test_attachments import document
from tests.scanners.conftest import (EXAMPLE, MRN, MRN_SYSTEM, PATTERN, PRACTICE, events, poll_until,
                                     send_example_without_meshes)
from tests.store.databases import settings_for

STL = (EXAMPLE / "upper.stl").read_bytes()
FOLDER_NAME = "20260504_upper.stl"   # what the watcher names the file (the pattern's {PatientID}_ taken off)


def other_scan(data: bytes) -> bytes:
    """Another binary STL: the same triangles moved 1 mm along x (a different scan's bytes, still a valid mesh)."""
    count = struct.unpack_from("<I", data, 80)[0]
    out = bytearray(data)
    for i in range(count):
        for v in range(3):
            at = 84 + i * 50 + 12 + v * 12
            struct.pack_into("<f", out, at, struct.unpack_from("<f", out, at)[0] + 1.0)
    return bytes(out)


@pytest.fixture
def ctx(tmp_path, fhir_base_url):
    url = f"sqlite:///{tmp_path / 'dwcoder.db'}"
    settings = settings_for(url, tmp_path, DWCODER_PRACTICE=PRACTICE, FHIR_BASE_URL=fhir_base_url,
                            SCANNER_PATTERNS=PATTERN, SCANNER_PATIENT_SYSTEM=MRN_SYSTEM)
    c = pipeline.Context(settings, Store(url))
    yield c
    c.store.dispose()


def _both_channels(ctx, tmp_path, fhir_base_url, folder_bytes: bytes) -> list[dict]:
    """The example case (FHIR + DICOM), the scan as a DocumentReference's Binary, and `folder_bytes` exported to
    the watched folder; every event processed; the active ChargeItems at the FHIR server."""
    exports = tmp_path / "exports"
    exports.mkdir()
    watcher = Watcher(ctx.store, ctx.settings, WatchConfig.from_settings(ctx.settings, exports))
    send_example_without_meshes(ctx)
    put_binary(fhir_base_url, "scan-upper", STL)
    accept(ctx.store, [feed.fhir_event(document("Binary/scan-upper", title="upper.stl"))])
    drain(ctx)
    (exports / f"{MRN}_{FOLDER_NAME}").write_bytes(folder_bytes)
    poll_until(watcher, lambda: len(events(ctx)) == 1)
    drain(ctx)
    return active(FhirClient(fhir_base_url).search("ChargeItem", {}))


def suggest_folder(tmp_path, name: str, files: dict[str, bytes]) -> "object":
    """The example case with the DocumentReference and the given scan files, for `dwcoder suggest`."""
    folder = tmp_path / name
    shutil.copytree(EXAMPLE, folder)
    (folder / "upper.stl").unlink()
    (folder / "document.json").write_text(json.dumps(document("Binary/scan-upper", title="upper.stl")))
    for file_name, data in files.items():
        (folder / file_name).write_bytes(data)
    return folder


def test_the_same_scan_from_the_folder_and_a_document_counts_once(ctx, tmp_path, fhir_base_url):
    posted = _both_channels(ctx, tmp_path, fhir_base_url, STL)
    one_copy = cli_items(suggest_folder(tmp_path, "one-copy", {FOLDER_NAME: STL}), PRACTICE)
    assert posted == one_copy
    assert any(f"File/{FOLDER_NAME}" in json.dumps(item) for item in posted)   # the scan is in the evidence
    assert "File/upper.stl" not in json.dumps(posted)                         # and only once
    # `dwcoder suggest` on a folder holding both copies gives the same lines: one place decides (plugin.case)
    both = cli_items(suggest_folder(tmp_path, "two-copies", {FOLDER_NAME: STL, "upper.stl": STL}), PRACTICE)
    assert both == one_copy


def test_a_different_scan_still_counts(ctx, tmp_path, fhir_base_url):
    other = other_scan(STL)
    assert other != STL
    posted = _both_channels(ctx, tmp_path, fhir_base_url, other)
    one_copy = cli_items(suggest_folder(tmp_path, "one-copy", {FOLDER_NAME: STL}), PRACTICE)
    two_scans = cli_items(suggest_folder(tmp_path, "two-scans", {FOLDER_NAME: other, "upper.stl": STL}), PRACTICE)
    assert two_scans != one_copy
    assert posted == two_scans
    assert f"File/{FOLDER_NAME}" in json.dumps(posted) and "File/upper.stl" in json.dumps(posted)


def test_order_of_arrival_does_not_change_the_name_kept(tmp_path):
    """Two copies under two names, stored in either order: one mesh, under the name first by order."""
    from sqlalchemy import select

    from plugin.store import evidence as ev_store

    kept = []
    for order in (("b-copy.stl", "a-copy.stl"), ("a-copy.stl", "b-copy.stl")):
        url = f"sqlite:///{tmp_path / ('-'.join(order) + '.db')}"
        c = pipeline.Context(settings_for(url, tmp_path, DWCODER_PRACTICE=PRACTICE), Store(url))
        for name in order:
            for item in accept(c.store, [feed.EventIn("test", "mesh-file", f"k-{name}",
                                                      f'model/stl; name="{name}"; patient="Patient/pt"', STL)]):
                assert pipeline.process_event(c, item.event_id) == "done"
        with c.store.sessions() as s:
            rows = list(s.scalars(select(ev_store.Evidence).where(ev_store.Evidence.kind == "mesh")))
        kept.append([json.loads(r.data)["source"] for r in rows])
        c.store.dispose()
    assert kept == [["a-copy.stl"], ["a-copy.stl"]]
