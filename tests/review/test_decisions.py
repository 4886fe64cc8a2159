"""Decisions as plain functions on a real store (SQLite file and PostgreSQL), the contract's example sent
through the pipeline, the ChargeItems at the real FHIR test server (or the embedded store)."""
from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from plugin import pipeline
from plugin.errors import Conflict, DecisionRefused
from plugin.review import approve_case, decide, reject_reasons
from tests.review import scenario as sc


@pytest.fixture
def ctx(database_url, tmp_path, fhir_base_url):
    c = sc.make_ctx(database_url, tmp_path, fhir_base_url)
    sc.send_case(c)
    yield c
    c.store.dispose()


@pytest.fixture
def local(database_url, tmp_path):
    c = sc.make_ctx(database_url, tmp_path)   # embedded EHR (no FHIR_BASE_URL)
    sc.send_case(c)
    yield c
    c.store.dispose()


def test_the_example_case_is_in_the_queue_with_its_lines_pending(local):
    lines = sc.lines(local)
    assert set(lines) == {"D0140", "D0365", "D0393"}
    assert {row.state for row in lines.values()} == {"pending"}
    [case] = sc.cases(local)
    assert (case.status, case.open, case.claim, case.service_date) == ("pending", True, "dental", "2026-10-14")
    assert "documentation-required" in case.notice_kinds.split()
    for row in lines.values():
        assert sc.charge_item(local, row.identifier)["status"] == "planned"


def test_approve_reject_edit_add_reach_the_fhir_server_and_the_audit_log(ctx):
    lines = sc.lines(ctx)
    first = decide(ctx, line_key=lines["D0140"].identifier, action="approve", actor="ann",
                   expected_version=lines["D0140"].version)
    decide(ctx, line_key=lines["D0365"].identifier, action="reject", actor="ann", expected_version=lines["D0365"].version,
           reason_code="duplicate", reason_text="billed on the 12th")
    decide(ctx, line_key=lines["D0393"].identifier, action="edit", actor="bob", expected_version=lines["D0393"].version,
           change={"code": "D0367", "quantity": 1})
    added = decide(ctx, line_key=lines["D0140"].identifier, action="add", actor="bob", expected_version=None,
                   change={"code": "D0150"}, reason_text="comprehensive evaluation documented")

    assert sc.charge_item(ctx, lines["D0140"].identifier)["status"] == "billable"
    assert sc.charge_item(ctx, lines["D0365"].identifier)["status"] == "not-billable"
    edited = sc.charge_item(ctx, lines["D0393"].identifier)
    assert (edited["status"], sc.code_of(edited)) == ("billable", "D0367")
    assert "was D0393" in " ".join(n["text"] for n in edited["note"])
    new = sc.charge_item(ctx, added.identifier)
    assert (new["status"], sc.code_of(new), new["subject"]) == ("billable", "D0150", edited["subject"])
    assert new["context"] == edited["context"]

    rows = sc.audit(ctx)
    assert [(a.actor, a.action) for a in rows] == [("ann", "approve"), ("ann", "reject"), ("bob", "edit"), ("bob", "add")]
    reject = rows[1]
    assert (reject.reason_code, reject.reason_text) == ("duplicate", "billed on the 12th")
    assert json.loads(rows[2].before)["code"] == "D0393" and json.loads(rows[2].after)["code"] == "D0367"
    assert all(a.provenance_id for a in rows)
    targets = sc.provenance_targets(ctx)
    assert f"ChargeItem/{first.charge_item_id}" in targets and f"ChargeItem/{added.charge_item_id}" in targets
    assert sc.cases(ctx)[0].status == "done"


def test_approve_all_moves_every_open_line(ctx):
    [case] = sc.cases(ctx)
    made = approve_case(ctx, case.id, "ann")
    assert sorted(d.identifier for d in made) == sorted(row.identifier for row in sc.lines(ctx).values())
    for row in sc.lines(ctx).values():
        assert row.state == "approved"
        assert sc.charge_item(ctx, row.identifier)["status"] == "billable"
    assert sc.cases(ctx)[0].status == "done" and len(sc.audit(ctx)) == 3


def test_approve_all_with_a_stale_version_writes_nothing(local):
    [case] = sc.cases(local)
    lines = sc.lines(local)
    seen = {row.identifier: row.version for row in lines.values()}
    decide(local, line_key=lines["D0365"].identifier, action="reject", actor="bob", expected_version=lines["D0365"].version,
           reason_code="not-performed")
    with pytest.raises(Conflict, match="rejected by bob"):
        approve_case(local, case.id, "ann", seen)
    assert sc.charge_item(local, lines["D0140"].identifier)["status"] == "planned"
    assert [a.action for a in sc.audit(local)] == ["reject"]


@pytest.mark.parametrize("action, change, reason, match", [
    ("edit", {"code": "D9999"}, "", r"code 'D9999' is not in the code tables"),
    ("edit", {"code": "D0393", "modifiers": "26"}, "", r"modifier 26 cannot go on D0393"),
    ("edit", {"code": "70486", "modifiers": "26 TC"}, "", r"modifiers 26 and TC together"),
    ("edit", {"code": "99213", "modifiers": "XY"}, "", r"modifier 'XY' is not in the code tables"),
    ("edit", {"code": "D0367", "quantity": 0}, "", r"quantity must be a whole number from 1 to 99"),
    ("add", {"code": "D0367", "modifiers": "TC"}, "", r"modifier TC cannot go on D0367"),
    ("reject", None, "made-up", r"needs one of the listed reasons"),
    ("reject", None, "other", r"reason 'other' needs a few words"),
])
def test_a_refused_decision_writes_nothing(local, action, change, reason, match):
    row = sc.lines(local)["D0393"]
    with pytest.raises(DecisionRefused, match=match):
        decide(local, line_key=row.identifier, action=action, actor="ann", expected_version=row.version,
               reason_code=reason, change=change)
    assert sc.audit(local) == []
    assert sc.charge_item(local, row.identifier)["status"] == "planned"
    assert sc.line(local, row.identifier).version == row.version


def test_an_edit_on_a_medical_code_accepts_a_radiology_modifier(local):
    row = sc.lines(local)["D0365"]
    made = decide(local, line_key=row.identifier, action="edit", actor="ann", expected_version=row.version,
                  change={"code": "70486", "modifiers": ["26"]})
    item = sc.charge_item(local, made.identifier)
    assert sc.code_of(item) == "70486"
    assert [e["valueCoding"]["code"] for e in item["extension"] if e["url"].endswith("charge-modifier")] == ["26"]


def test_reject_reasons_come_from_the_setting_else_the_mappings(local, tmp_path, database_url):
    assert ("duplicate", "Duplicate of another line or claim") in reject_reasons(local.settings)
    other = sc.make_ctx(database_url, tmp_path, DWCODER_REJECT_REASONS=json.dumps({"no-auth": "No prior authorization"}))
    assert reject_reasons(other.settings) == [("no-auth", "No prior authorization")]


def test_the_audit_log_refuses_updates_and_deletes(local):
    row = sc.lines(local)["D0140"]
    decide(local, line_key=row.identifier, action="approve", actor="ann", expected_version=row.version)
    for statement in ("UPDATE review_audit SET actor = 'mallory'", "DELETE FROM review_audit"):
        with pytest.raises(DBAPIError, match="append-only"):
            with local.store.transaction() as s:
                s.execute(text(statement))
    assert [a.actor for a in sc.audit(local)] == ["ann"]


# ------------------------------------------------------------------------------------------ concurrency
def test_two_reviewers_deciding_one_line_the_second_is_told(ctx):
    row = sc.lines(ctx)["D0365"]
    start = threading.Barrier(2)
    results: dict[str, object] = {}

    def reviewer(name: str, action: str) -> None:
        start.wait()
        try:
            results[name] = decide(ctx, line_key=row.identifier, action=action, actor=name, expected_version=row.version,
                                   reason_code="not-performed" if action == "reject" else "")
        except Conflict as exc:
            results[name] = exc

    threads = [threading.Thread(target=reviewer, args=("ann", "approve")), threading.Thread(target=reviewer, args=("bob", "reject"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    conflicts = [n for n, r in results.items() if isinstance(r, Conflict)]
    assert len(conflicts) == 1, results
    loser, winner = conflicts[0], ({"ann", "bob"} - set(conflicts)).pop()
    assert f"by {winner}" in str(results[loser])
    wanted = {"ann": "billable", "bob": "not-billable"}[winner]
    assert sc.charge_item(ctx, row.identifier)["status"] == wanted
    assert [a.actor for a in sc.audit(ctx)] == [winner]


def test_a_decision_during_a_recomputation_waits_and_is_told_the_line_changed(local, monkeypatch):
    row = sc.lines(local)["D0393"]
    inside, release = threading.Event(), threading.Event()
    from plugin.review import sync

    real = sync.after_recompute

    def slow(*args, **kwargs):   # the recomputation holds the case lock while this runs
        real(*args, **kwargs)
        inside.set()
        release.wait(30)

    monkeypatch.setattr(sync, "after_recompute", slow)
    worker = threading.Thread(target=sc.send_resource, args=(local, sc.procedure_without_note()))
    worker.start()
    assert inside.wait(30)
    outcome: dict[str, object] = {}

    def reviewer() -> None:
        try:
            outcome["result"] = decide(local, line_key=row.identifier, action="approve", actor="ann",
                                       expected_version=row.version)
        except Conflict as exc:
            outcome["result"] = exc
        outcome["at"] = time.monotonic()

    decision = threading.Thread(target=reviewer)
    decision.start()
    time.sleep(0.5)
    assert "result" not in outcome, "the decision went ahead while the recomputation held the case"
    released_at = time.monotonic()
    release.set()
    worker.join(60)
    decision.join(60)
    assert outcome["at"] >= released_at
    assert isinstance(outcome["result"], Conflict) and "new evidence changed the suggestion" in str(outcome["result"])
    assert sc.charge_item(local, row.identifier)["status"] == "planned"


# ------------------------------------------------------------------------------------------ evidence changes
def test_evidence_that_changes_after_approval_returns_the_case_with_the_difference(ctx):
    row = sc.lines(ctx)["D0393"]
    decide(ctx, line_key=row.identifier, action="approve", actor="ann", expected_version=row.version)
    approved = sc.charge_item(ctx, row.identifier)
    sc.send_resource(ctx, sc.procedure_without_note())

    now = sc.line(ctx, row.identifier)
    assert now.state == "changed" and now.version == row.version + 2
    diff = json.loads(now.difference)
    assert any(d["field"] == "note" and "missing from the record" in d["after"] for d in diff), diff
    assert sc.cases(ctx)[0].status == "returned"
    kept = sc.charge_item(ctx, row.identifier)
    assert kept["status"] == "billable" and kept["note"] == approved["note"], "an approved line was altered"
    assert [(a.actor, a.action) for a in sc.audit(ctx)] == [("ann", "approve"), ("pipeline", "returned")]

    decide(ctx, line_key=row.identifier, action="approve", actor="ann", expected_version=now.version)
    again = sc.charge_item(ctx, row.identifier)
    assert again["status"] == "billable" and "missing from the record" in " ".join(n["text"] for n in again["note"])
    assert sc.cases(ctx)[0].status == "pending"   # no longer returned; the two other lines still await a decision


def test_a_line_the_evidence_no_longer_supports_returns_if_decided_else_is_withdrawn(local):
    lines = sc.lines(local)
    decide(local, line_key=lines["D0393"].identifier, action="approve", actor="ann", expected_version=lines["D0393"].version)
    gone = dict(sc.procedure_without_note(), status="not-done")
    sc.send_resource(local, gone)
    now = sc.line(local, lines["D0393"].identifier)
    assert now.state == "changed" and "no longer supported" in now.difference
    assert sc.charge_item(local, now.identifier)["status"] == "billable"
    with pytest.raises(DecisionRefused, match="reason 'other' needs"):
        decide(local, line_key=now.identifier, action="reject", actor="ann", expected_version=now.version, reason_code="other")
    decide(local, line_key=now.identifier, action="reject", actor="ann", expected_version=now.version,
           reason_code="not-performed")
    assert sc.charge_item(local, now.identifier)["status"] == "not-billable"


def test_an_unchanged_recomputation_leaves_decisions_and_the_queue_alone(local):
    row = sc.lines(local)["D0140"]
    decide(local, line_key=row.identifier, action="approve", actor="ann", expected_version=row.version)
    before = sc.line(local, row.identifier)
    with local.store.transaction() as s:
        from plugin.store.cases import mark_dirty

        mark_dirty(s, "Patient/implant-posterior-mandible-pt")
    pipeline.recompute_case(local, "Patient/implant-posterior-mandible-pt")
    after = sc.line(local, row.identifier)
    assert (after.state, after.version) == ("approved", before.version)
    assert [a.action for a in sc.audit(local)] == ["approve"]
