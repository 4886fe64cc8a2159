"""The watched folder with real files, a real store and the pipeline's own processing."""
from __future__ import annotations

import hashlib
import json
import os
import struct
import time

from sqlalchemy import select

from plugin import pipeline
from plugin.pipeline import content_params
from plugin.store import scanner as table
from plugin.store.models import DeadLetter
from tests.pipeline.runner import active, cli_items, drain, local_items
from tests.scanners.conftest import (EXAMPLE, MRN, MRN_SYSTEM, PRACTICE, events, example_copy, poll_until,
                                     send_example_without_meshes, write_slowly)

STL = (EXAMPLE / "upper.stl").read_bytes()


def test_a_file_copied_in_slowly_is_read_once_and_complete(ctx, folder, watcher):
    target = folder / f"{MRN}_20260504_upper.stl"
    writer = write_slowly(target, STL, chunk=150, pause_s=0.05)   # ~0.7 s, pauses longer than two polls
    seen_sizes = set()
    deadline = time.monotonic() + 10
    while (writer.is_alive() or not events(ctx)) and time.monotonic() < deadline:
        watcher.poll()
        if events(ctx):
            seen_sizes.add(len(events(ctx)[0].body))
        time.sleep(0.02)
    writer.join(5)
    for _ in range(10):          # later polls take nothing again
        watcher.poll()
    [event] = events(ctx)
    assert event.body == STL and seen_sizes == {len(STL)}
    assert content_params(event.content_type) == {"name": "20260504_upper.stl", "patient": f"{MRN_SYSTEM}|{MRN}"}
    with ctx.store.sessions() as s:
        [row] = s.scalars(select(table.ScannerFile)).all()
    assert (row.status, row.event_id, row.size) == ("taken", event.id, len(STL)) and len(row.sha256) == 64


def test_a_file_only_touched_is_not_sent_again(ctx, folder, watcher):
    target = folder / f"{MRN}_20260504_upper.stl"
    target.write_bytes(STL)
    poll_until(watcher, lambda: len(events(ctx)) == 1)
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    for _ in range(8):
        watcher.poll()
    assert len(events(ctx)) == 1


def test_the_example_stl_from_the_folder_gives_the_chargeitems_of_dwcoder_suggest(ctx, folder, watcher, tmp_path):
    send_example_without_meshes(ctx)
    (folder / f"{MRN}_20260504_upper.stl").write_bytes(STL)
    poll_until(watcher, lambda: len(events(ctx)) == 1)
    drain(ctx)
    # the file is named without the identifier: compare with suggest on the case holding it under that name
    expected = cli_items(example_copy(tmp_path, "20260504_upper.stl"), PRACTICE)
    assert active(local_items(ctx)) == expected
    assert any("file 20260504_upper.stl" in json.dumps(i) for i in expected)  # the scan is in the evidence


def test_an_unlinkable_file_is_held_with_its_reason_until_a_sidecar_links_it(ctx, folder, watcher, tmp_path):
    send_example_without_meshes(ctx)
    target = folder / "upper.stl"          # the exporter's own name: no pattern matches it
    target.write_bytes(STL)
    poll_until(watcher, lambda: _unmatched(ctx))
    [held] = _unmatched(ctx)
    assert held["path"] == "upper.stl" and "matches none of the 1 SCANNER_PATTERNS" in held["reason"]
    assert held["sha256"] == hashlib.sha256(STL).hexdigest()
    assert "upper.stl.json" in held["reason"] and events(ctx) == []
    for _ in range(5):                      # held, not guessed, however long it waits
        watcher.poll()
    assert events(ctx) == []
    (folder / "upper.stl.json").write_text(json.dumps({"patient": {"system": MRN_SYSTEM, "value": MRN}}))
    poll_until(watcher, lambda: len(events(ctx)) == 1)
    assert _unmatched(ctx) == []
    assert content_params(events(ctx)[0].content_type) == {"name": "upper.stl", "patient": f"{MRN_SYSTEM}|{MRN}"}
    drain(ctx)
    assert active(local_items(ctx)) == cli_items(EXAMPLE, PRACTICE)


def test_a_scan_taken_before_its_patient_is_known_joins_the_patient_when_it_arrives(ctx, folder, watcher):
    (folder / f"{MRN}_20260504_upper.stl").write_bytes(STL)
    poll_until(watcher, lambda: len(events(ctx)) == 1)
    drain(ctx)
    assert local_items(ctx) == []               # waits for a Patient with that identifier: nothing coded
    send_example_without_meshes(ctx)
    drain(ctx)
    expected = cli_items(example_copy(ctx.settings.home, "20260504_upper.stl"), PRACTICE)
    assert active(local_items(ctx)) == expected


def test_a_sidecar_naming_another_patient_than_the_file_name_is_held(ctx, folder, watcher):
    (folder / f"{MRN}_20260504_upper.stl").write_bytes(STL)
    (folder / f"{MRN}_20260504_upper.stl.json").write_text(json.dumps({"patient": f"{MRN_SYSTEM}|SOMEONE-ELSE"}))
    poll_until(watcher, lambda: _unmatched(ctx))
    assert "different patients" in _unmatched(ctx)[0]["reason"] and events(ctx) == []


def test_an_identifier_no_patient_holds_waits_and_is_never_coded_elsewhere(ctx, folder, watcher):
    send_example_without_meshes(ctx)
    (folder / "NOBODY-1_20260504_upper.stl").write_bytes(STL)
    poll_until(watcher, lambda: len(events(ctx)) == 1)
    drain(ctx)
    items = local_items(ctx)
    assert not any("20260504_upper.stl" in json.dumps(i) for i in items)   # not guessed onto the example's patient


def test_a_truncated_stl_is_dead_lettered_with_its_reason(ctx, folder, watcher):
    truncated = STL[:84 + 50 * 10]          # the header still announces 40 triangles
    (folder / f"{MRN}_20260504_lower.stl").write_bytes(truncated)
    watcher.poll(), watcher.poll(), watcher.poll()
    assert events(ctx) == []                # incomplete: waits SCANNER_TRUNCATED_AFTER_S first
    poll_until(watcher, lambda: len(events(ctx)) == 1)
    [event] = events(ctx)
    assert pipeline.process_event(ctx, event.id) == "dead"
    with ctx.store.sessions() as s:
        letter = s.scalar(select(DeadLetter).where(DeadLetter.event_id == event.id))
    assert letter.reason == "InvalidMesh" and "trunc" in letter.message.lower()


def test_an_ascii_stl_is_taken_only_once_it_ends_with_endsolid(ctx, folder, watcher):
    facet = "facet normal 0 0 1\n outer loop\n  vertex 0 0 0\n  vertex 10 0 0\n  vertex 0 10 0\n endloop\nendfacet\n"
    target = folder / f"{MRN}_20260504_upper.stl"
    target.write_text("solid scan\n" + facet * 3)
    for _ in range(6):
        watcher.poll()
    assert events(ctx) == []
    with target.open("a") as fh:
        fh.write("endsolid scan\n")
    poll_until(watcher, lambda: len(events(ctx)) == 1)
    assert events(ctx)[0].body.endswith(b"endsolid scan\n")


def test_unmatched_list_over_http_and_the_command(ctx, folder, watcher, monkeypatch, capsys):
    import asyncio

    import httpx

    from plugin import cli
    from plugin.web.app import create_app

    (folder / "scan-without-name.stl").write_bytes(STL)
    poll_until(watcher, lambda: _unmatched(ctx))
    app = create_app(ctx.settings, store=ctx.store, queue_event=lambda _id: None)

    from plugin.web.auth.users import add_user
    from tests.web.auth.browser import PASSWORD, Browser

    async def anonymous():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            return await http.get("/scanner/unmatched")

    assert asyncio.run(anonymous()).status_code == 401  # file names may hold identifiers: a deployment admin only
    add_user(ctx.store, "root", PASSWORD, "admin", "*")
    admin = Browser(app)
    assert admin.sign_in("root").status_code == 303
    answer = admin.request("GET", "/scanner/unmatched")
    assert answer.status_code == 200
    assert [(r["path"], r["kind"]) for r in answer.json()["unmatched"]] == [("scan-without-name.stl", "mesh-file")]
    for name, value in (("DATABASE_URL", ctx.settings.database_url), ("DWCODER_HOME", str(ctx.settings.home))):
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(folder)
    assert cli.main(["watch", "--unmatched", "--json", str(folder)]) == 0
    [line] = capsys.readouterr().out.strip().splitlines()
    assert json.loads(line)["path"] == "scan-without-name.stl"
    (folder / "scan-without-name.stl").unlink()       # gone from the folder: gone from the list
    watcher.poll()
    assert _unmatched(ctx) == []


def test_dicom_files_are_linked_by_their_header(ctx, folder, watcher):
    dcm = sorted((EXAMPLE / "cbct").rglob("*.dcm"))[0]
    (folder / "IMG0001.dcm").write_bytes(dcm.read_bytes())
    poll_until(watcher, lambda: len(events(ctx)) == 1)
    [event] = events(ctx)
    assert event.kind == "dicom-file" and event.body == dcm.read_bytes()
    assert pipeline.process_event(ctx, event.id) == "done"


def test_a_dicom_file_whose_name_names_another_patient_is_held(ctx, folder, watcher):
    dcm = sorted((EXAMPLE / "cbct").rglob("*.dcm"))[0]
    (folder / "OTHER-9_20260504_cbct.dcm").write_bytes(dcm.read_bytes())
    (folder / "OTHER-9_20260504_cbct.dcm.json").write_text(json.dumps({"patient": f"{MRN_SYSTEM}|OTHER-9"}))
    poll_until(watcher, lambda: _unmatched(ctx))
    assert "PatientID and the file name or sidecar name different patients" in _unmatched(ctx)[0]["reason"]
    assert events(ctx) == []


def test_a_binary_stl_header_length_mismatch_is_incomplete():
    from plugin.scanners.complete import check

    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "a.stl")
        path.write_bytes(b"\0" * 80 + struct.pack("<I", 2) + b"\0" * 50)
        assert "announces 2 triangles" in check(path)
        path.write_bytes(b"\0" * 80 + struct.pack("<I", 2) + b"\0" * 100)
        assert check(path) == ""


def _unmatched(ctx) -> list[dict]:
    with ctx.store.sessions() as s:
        return [table.as_dict(r) for r in table.unmatched(s)]


def test_a_file_over_the_size_limit_is_held_unread(ctx, folder):
    from dataclasses import replace

    from plugin.scanners.watch import Watcher, WatchConfig

    small = Watcher(ctx.store, ctx.settings, replace(WatchConfig.from_settings(ctx.settings, folder), max_file_bytes=1000))
    (folder / f"{MRN}_20260504_upper.stl").write_bytes(STL)
    poll_until(small, lambda: _unmatched(ctx))
    assert "over SCANNER_MAX_FILE_BYTES (1000 bytes)" in _unmatched(ctx)[0]["reason"] and events(ctx) == []
