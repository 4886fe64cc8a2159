"""plugin/review/sync.py: what a recomputation tells the reviewer queue, on a real store (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from plugin import feed
from plugin.review.decisions import refresh_case
from plugin.store.review import ReviewCase, ReviewLine
from tests.pipeline.runner import drain, send_direct
from tests.review import scenario as sc


@pytest.fixture
def local(database_url, tmp_path):
    c = sc.make_ctx(database_url, tmp_path)  # embedded EHR; DWCODER_SETTLE_S 0: an event recomputes its case at once
    yield c
    c.store.dispose()


def _visit(pid: str, codes: tuple[str, ...]) -> dict:
    subject = {"reference": f"Patient/{pid}"}
    return {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": pid}},
        *({"resource": {"resourceType": "Procedure", "id": f"{pid}-{code}", "status": "completed", "subject": subject,
                        "performedDateTime": "2026-10-14", "code": {"coding": [{"system": "http://www.ada.org/cdt", "code": code}]}}}
          for code in codes)]}


def _status_as_read(ctx, case_id: int) -> tuple[str, bool]:
    """The status the lines stored in the database give (refresh_case reading them)."""
    with ctx.store.transaction() as s:
        rcase = s.get(ReviewCase, case_id)
        refresh_case(s, rcase)
        out = (rcase.status, rcase.open)
        s.rollback()
    return out


@pytest.mark.parametrize("codes", [("D0330",), ("D0330", "D0140")])
def test_a_case_first_coded_in_one_recomputation_is_pending_as_its_stored_lines_say(local, codes):
    send_direct(local, [feed.fhir_event(_visit("sync-1", codes))])
    drain(local)
    with local.store.sessions() as s:
        [rcase] = s.scalars(select(ReviewCase))
        states = sorted(s.scalars(select(ReviewLine.state).where(ReviewLine.case_id == rcase.id)))
    assert states and set(states) == {"pending"}
    assert (rcase.status, rcase.open) == ("pending", True)
    assert (rcase.status, rcase.open) == _status_as_read(local, rcase.id)


def test_a_new_case_whose_line_moves_in_from_an_older_case_keeps_that_lines_state(local):
    """A line already in the queue under another coded case (its encounter changed) keeps its state; the new
    case's status follows it, as reading the lines back would."""
    from plugin.review import decide

    send_direct(local, [feed.fhir_event(_visit("sync-2", ("D0330",)))])
    drain(local)
    [row] = sc.lines(local).values()
    decide(local, line_key=row.identifier, action="approve", actor="coder", expected_version=row.version)
    encounter = {"resourceType": "Encounter", "id": "sync-2-e", "status": "finished",
                 "subject": {"reference": "Patient/sync-2"},
                 "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                 "period": {"start": "2026-10-14T09:00:00Z", "end": "2026-10-14T09:30:00Z"}}
    moved = dict(_visit("sync-2", ("D0330",))["entry"][1]["resource"], encounter={"reference": "Encounter/sync-2-e"},
                 meta={"versionId": "2"})
    send_direct(local, [feed.fhir_event(encounter), feed.fhir_event(moved)])
    drain(local)
    with local.store.sessions() as s:
        stored = [(c.id, c.status, c.open) for c in s.scalars(select(ReviewCase))]
    assert len(stored) == 2, "the encounter makes a coded case of its own"
    for case_id, status, is_open in stored:
        assert (status, is_open) == _status_as_read(local, case_id)
