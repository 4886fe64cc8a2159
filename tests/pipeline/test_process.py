"""plugin/pipeline.py through its plain functions: late evidence, withdrawal, held ChargeItems, debounce,
dead letters, re-linking DICOM to a patient that arrives later, sweeping."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from plugin import feed, pipeline
from plugin.store import Store, chargeitems
from plugin.store.chargeitems import LocalEhr
from plugin.store.events import EventIn, accept, accept_and_enqueue
from plugin.store.models import Case, DeadLetter, Event, Evidence
from tests.pipeline.runner import ROOT, active, cli_items, drain, local_items, send_direct
from tests.store.databases import empty, settings_for

EXAMPLE = ROOT / "examples" / "orthognathic-planning"
PRACTICE = "http://hl7.org/fhir/sid/us-npi|1234567893"


@pytest.fixture
def ctx(database_url, tmp_path):
    c = pipeline.Context(settings_for(database_url, tmp_path, DWCODER_PRACTICE=PRACTICE), Store(database_url))
    empty(c.store)
    yield c
    c.store.dispose()


def _codes(items):
    return sorted(i["code"]["coding"][0]["code"] for i in items)


def _withdrawn_procedure(folder: Path, tmp: Path, proc_id: str) -> tuple[Path, dict]:
    """A copy of the case where Procedure `proc_id` is entered-in-error (version 2); returns it and the resource."""
    out = tmp / "case"
    shutil.copytree(folder, out)
    bundle = json.loads((out / "bundle.json").read_text())
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Procedure" and entry["resource"]["id"] == proc_id:
            entry["resource"]["status"] = "entered-in-error"
            entry["resource"]["meta"] = {"versionId": "2"}
            changed = entry["resource"]
    (out / "bundle.json").write_text(json.dumps(bundle))
    return out, feed._resources(changed)[0]


def test_late_dicom_recomputes_the_case(ctx):
    events = feed.folder_events(EXAMPLE)
    early = [e for e in events if e.kind != "dicom-file"]
    send_direct(ctx, early)
    drain(ctx)
    before = active(local_items(ctx))
    send_direct(ctx, [e for e in events if e.kind == "dicom-file"])
    drain(ctx)
    after = active(local_items(ctx))
    assert after == cli_items(EXAMPLE, PRACTICE)
    assert _codes(before) != _codes(after)  # the series changed the lines (else this test proves nothing)


def test_a_procedure_marked_entered_in_error_withdraws_its_line(ctx, tmp_path):
    send_direct(ctx, feed.folder_events(EXAMPLE))
    drain(ctx)
    changed_folder, resource = _withdrawn_procedure(EXAMPLE, tmp_path, "print")
    send_direct(ctx, [feed.fhir_event(resource)])
    drain(ctx)
    want = cli_items(changed_folder, PRACTICE)
    assert active(local_items(ctx)) == want
    withdrawn = [i for i in local_items(ctx) if i["status"] == "entered-in-error"]
    assert _codes(withdrawn) == ["D0396"]
    with ctx.store.sessions() as s:
        assert not s.get(Case, "Patient/pt").needs_review


def test_a_decided_chargeitem_is_held_and_the_case_flagged(ctx, tmp_path):
    send_direct(ctx, feed.folder_events(EXAMPLE))
    drain(ctx)
    d0396 = next(i for i in local_items(ctx) if i["code"]["coding"][0]["code"] == "D0396")
    with ctx.store.transaction() as s:
        LocalEhr(s).set_charge_item_status(d0396["identifier"][0], "billable")
    _, resource = _withdrawn_procedure(EXAMPLE, tmp_path, "print")
    send_direct(ctx, [feed.fhir_event(resource)])
    drain(ctx)
    assert chargeitems.read(ctx.store, d0396["id"])["status"] == "billable"  # never silently changed
    with ctx.store.sessions() as s:
        case = s.get(Case, "Patient/pt")
        assert case.needs_review and "reviewer" in case.review_reason


def test_dicom_before_its_patient_moves_to_the_patient_when_it_arrives(ctx):
    events = feed.folder_events(EXAMPLE)
    send_direct(ctx, [e for e in events if e.kind == "dicom-file"])
    drain(ctx)
    with ctx.store.sessions() as s:
        assert set(s.scalars(select(Evidence.case_key))) == {"PatientID/MRN-R"}
    send_direct(ctx, [e for e in events if e.kind != "dicom-file"])
    drain(ctx)
    with ctx.store.sessions() as s:
        assert "PatientID/MRN-R" not in set(s.scalars(select(Evidence.case_key)))
    assert active(local_items(ctx)) == cli_items(EXAMPLE, PRACTICE)


@pytest.mark.parametrize("kind, body, ctype, reason", [
    ("fhir", b"{not json", "application/fhir+json", "MalformedJSON"),
    ("fhir", b'{"resourceType": "Procedure", "status": 7}', "application/fhir+json", "InvalidFHIR"),
    ("dicom-json", json.dumps({"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}]}}).encode(),
     "application/dicom+json", "InvalidDicom"),
    ("dicom-file", b"\0" * 128 + b"DICM" + b"\1\2", "application/dicom", "InvalidDicom"),
    ("mesh-file", b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0\n", "model/stl", "InvalidMesh"),
    ("fetch", b'["Patient/p1"]', "application/json", "ConfigError"),
])
def test_unusable_events_become_dead_letters_with_their_reason(ctx, kind, body, ctype, reason):
    [accepted] = accept(ctx.store, [EventIn("webhook:lab", kind, "k1", ctype, body)])
    assert pipeline.process_event(ctx, accepted.event_id) == "dead"
    assert pipeline.process_event(ctx, accepted.event_id) == "dead"  # redelivered: nothing more happens
    with ctx.store.sessions() as s:
        letter = s.scalar(select(DeadLetter).where(DeadLetter.event_id == accepted.event_id))
        assert letter.reason == reason
        assert "Doe" not in letter.message and "Jane" not in letter.message
        assert s.get(Event, accepted.event_id).status == "dead"
        assert s.scalar(select(Case.key)) is None  # nothing marked for recomputation


def test_an_event_out_of_attempts_is_a_dead_letter(ctx):
    [accepted] = accept(ctx.store, [feed.fhir_event({"resourceType": "Patient", "id": "p9"})])
    with ctx.store.transaction() as s:
        s.get(Event, accepted.event_id).attempts = ctx.settings.max_attempts
    assert pipeline.process_event(ctx, accepted.event_id) == "dead"
    with ctx.store.sessions() as s:
        assert s.scalar(select(DeadLetter.reason)) == "TooManyAttempts"


def test_replay_puts_a_dead_letter_back(ctx):
    [accepted] = accept(ctx.store, [EventIn("cli", "fhir", "k", "application/json", b"{bad")])
    pipeline.process_event(ctx, accepted.event_id)
    assert pipeline.replay(ctx, accepted.event_id)
    assert not pipeline.replay(ctx, accepted.event_id)  # no longer a dead letter
    with ctx.store.sessions() as s:
        row = s.get(Event, accepted.event_id)
        assert (row.status, row.attempts) == ("queued", 0)


def test_a_burst_for_one_case_is_recomputed_once(database_url, tmp_path, monkeypatch):
    settings = settings_for(database_url, tmp_path, DWCODER_PRACTICE=PRACTICE, DWCODER_SETTLE_S="2")
    ctx = pipeline.Context(settings, Store(database_url))
    empty(ctx.store)
    calls = []
    real = pipeline._recompute_in
    monkeypatch.setattr(pipeline, "_recompute_in", lambda c, s, case: calls.append(case.key) or real(c, s, case))
    events = feed.folder_events(EXAMPLE)
    accept(ctx.store, events)  # the burst: every event stored before the queue starts on them
    local = pipeline.start_local(ctx, threads=2, sweep_every_s=60)  # queues every stored event at once
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (pipeline.settled(ctx) and local.idle()):
            time.sleep(0.05)
        assert pipeline.settled(ctx)
    finally:
        local.stop()
        ctx.store.dispose()
    assert len(events) > 20
    assert calls == ["Patient/pt"]


def test_sweep_requeues_what_nobody_queued(ctx):
    from datetime import datetime, timedelta, timezone

    events = feed.folder_events(EXAMPLE)
    accept(ctx.store, events)  # stored, never queued (as if Redis lost them)
    assert pipeline.sweep(ctx)["events"] == 0  # not late yet
    later = datetime.now(timezone.utc) + timedelta(seconds=ctx.settings.event_timeout_s + 1)
    assert pipeline.sweep(ctx, now=later)["events"] == len(events)
    assert pipeline.sweep(ctx, now=later)["events"] == 0  # just queued again: not late any more
    drain(ctx)
    assert active(local_items(ctx)) == cli_items(EXAMPLE, PRACTICE)


def _one_case_event(ctx) -> int:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "inline-1"}},
        {"resource": {"resourceType": "Procedure", "id": "inline-1-p", "status": "completed",
                      "subject": {"reference": "Patient/inline-1"}, "performedDateTime": "2026-10-14",
                      "code": {"coding": [{"system": "http://www.ada.org/cdt", "code": "D0330"}]}}}]}
    [accepted] = accept(ctx.store, [feed.fhir_event(bundle)])
    return accepted.event_id


def _states(ctx, event_id: int) -> tuple[str, bool, int]:
    with ctx.store.sessions() as s:
        stored = len(s.scalars(select(Evidence).where(Evidence.case_key == "Patient/inline-1")).all())
        return s.get(Event, event_id).status, s.get(Case, "Patient/inline-1").dirty, stored


def test_a_recomputation_failing_in_the_events_transaction_leaves_the_event_stored(ctx, monkeypatch):
    """DWCODER_SETTLE_S 0: the case is recomputed inside the event's transaction (a savepoint). A bug there is
    raised as before, but the event and its evidence are kept, and the case stays dirty for a later try."""
    event_id = _one_case_event(ctx)
    real = pipeline._recompute_in

    def broken(*args):
        raise RuntimeError("a bug in the recomputation")

    monkeypatch.setattr(pipeline, "_recompute_in", broken)
    with pytest.raises(RuntimeError, match="a bug in the recomputation"):
        pipeline.process_event(ctx, event_id)
    assert _states(ctx, event_id) == ("done", True, 2)
    assert local_items(ctx) == []
    monkeypatch.setattr(pipeline, "_recompute_in", real)
    assert pipeline.recompute_case(ctx, "Patient/inline-1") == "recomputed"
    assert _states(ctx, event_id) == ("done", False, 2)
    assert [i["code"]["coding"][0]["code"] for i in active(local_items(ctx))] == ["D0330"]


def test_an_ehr_down_during_the_events_recomputation_queues_the_case_alone(ctx, monkeypatch):
    from plugin import queue
    from plugin.errors import EhrUnavailable

    event_id = _one_case_event(ctx)
    queued = []
    monkeypatch.setattr(queue, "enqueue", lambda settings, name, *args, **kw: queued.append((name, args)))

    def down(*args):
        raise EhrUnavailable("the FHIR server did not answer")

    monkeypatch.setattr(pipeline, "_recompute_in", down)
    assert pipeline.process_event(ctx, event_id) == "done"
    assert _states(ctx, event_id) == ("done", True, 2)
    assert queued == [(queue.TASK_RECOMPUTE_CASE, ("Patient/inline-1",))]
