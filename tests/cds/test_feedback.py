"""Feedback round trip: what the clinician does with a card changes the reviewer queue, the EHR's ChargeItem and
the audit log exactly as a reviewer's decision does (plugin.review.decide, via "cds"). Requests are shaped as
the CDS Hooks 2.0 feedback examples (accepted with acceptedSuggestions; overridden with / without overrideReason)."""
import json

import pytest
from sqlalchemy import select

from plugin.settings import Settings
from plugin.store import Store
from plugin.store import chargeitems
from plugin.store.review import ReviewAudit, ReviewLine
from tests.cds import scenario
from tests.cds.conftest import ISSUER, Service, cds_env, outcome_of

SERVICE = scenario.SERVICE
STAMP = "2020-12-11T00:00:00Z"


@pytest.fixture
def queue_service(tmp_path, jwks, database_url):
    settings = Settings.from_env(cds_env(tmp_path, database_url, jwks), dotenv=None)
    store = Store.from_settings(settings)
    scenario.through_pipeline(settings, store)
    yield Service(settings, store)
    store.dispose()


def card_of(service, ehr) -> dict:
    r = service.hook(ehr, SERVICE, scenario.request(prefetch={}))
    assert r.status_code == 200, r.text
    (card,) = r.json()["cards"]
    return card


def lines(store) -> dict[str, ReviewLine]:
    with store.sessions() as s:
        return {row.identifier: row for row in s.scalars(select(ReviewLine))}


def audit(store) -> list[ReviewAudit]:
    with store.sessions() as s:
        return list(s.scalars(select(ReviewAudit).order_by(ReviewAudit.id)))


def ehr_status(store, ident: str) -> str:
    (item,) = chargeitems.search(store, ident, "", 10)
    return item["status"]


def test_accept_one_then_override_the_card(queue_service, ehr):
    service, store = queue_service, queue_service.store
    card = card_of(service, ehr)
    per_line = [s for s in card["suggestions"] if len(s["actions"]) == 1]
    first, rest = per_line[0]["uuid"], [s["uuid"] for s in per_line[1:]]
    assert all(lines(store)[i].state == "pending" for i in [first, *rest])

    accepted = {"feedback": [{"card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": first}],
                              "outcomeTimestamp": STAMP}]}
    r = service.feedback(ehr, SERVICE, accepted)
    assert r.status_code == 200 and r.json()["results"][0]["lines"] == [{"line": first, "result": "approved"}]
    line = lines(store)[first]
    assert (line.state, line.version) == ("approved", 2) and line.decided_by.startswith("cds:")
    assert card["links"][0]["url"] == f"https://cds.example.org/review/cases/{line.case_id}"
    assert ehr_status(store, first) == "billable"
    (row,) = audit(store)
    assert (row.via, row.action, row.identifier) == ("cds", "approve", first) and ISSUER in row.actor

    # the same feedback again (clients may repeat it): nothing new is written
    again = service.feedback(ehr, SERVICE, accepted).json()["results"][0]["lines"]
    assert again == [{"line": first, "result": "already decided the same way"}]
    assert len(audit(store)) == 1

    reason = card["overrideReasons"][0]["code"]
    overridden = {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": STAMP,
                                "overrideReason": {"reason": {"code": reason, "system": card["overrideReasons"][0]["system"]},
                                                   "userComment": "A comment entered by the clinician."}}]}
    results = {x["line"]: x["result"] for x in service.feedback(ehr, SERVICE, overridden).json()["results"][0]["lines"]}
    assert all(results[i] == "rejected" for i in rest)
    assert results[first].startswith("conflict")           # approved meanwhile: told, not overwritten
    now = lines(store)
    assert now[first].state == "approved" and ehr_status(store, first) == "billable"
    for ident in rest:
        assert (now[ident].state, now[ident].reason_code) == ("rejected", reason)
        assert now[ident].reason_text == "A comment entered by the clinician."
        assert ehr_status(store, ident) == "not-billable"
    rows = audit(store)
    assert [(r.action, r.via) for r in rows[1:]] == [("reject", "cds")] * len(rest)


def test_accept_all(queue_service, ehr):
    service, store = queue_service, queue_service.store
    card = card_of(service, ehr)
    every = next(s for s in card["suggestions"] if len(s["actions"]) > 1)
    r = service.feedback(ehr, SERVICE, {"feedback": [{"card": card["uuid"], "outcome": "accepted",
                                                      "acceptedSuggestions": [{"id": every["uuid"]}], "outcomeTimestamp": STAMP}]})
    done = {x["line"] for x in r.json()["results"][0]["lines"] if x["result"] == "approved"}
    assert done == scenario.card_lines(card)
    assert {lines(store)[i].state for i in done} == {"approved"}


def test_dismissed_without_a_reason_decides_nothing(queue_service, ehr):
    service, store = queue_service, queue_service.store
    card = card_of(service, ehr)
    r = service.feedback(ehr, SERVICE, {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": STAMP}]})
    assert "left in the reviewer queue" in r.json()["results"][0]["result"]
    assert {row.state for row in lines(store).values()} == {"pending"} and audit(store) == []


def test_unknown_card_and_bad_feedback(queue_service, ehr):
    service = queue_service
    r = service.feedback(ehr, SERVICE, {"feedback": [{"card": "f6b95768-b1c8-40dc-8385-bf3504b82ffb", "outcome": "overridden",
                                                      "outcomeTimestamp": STAMP}]})
    assert r.json()["results"][0]["result"] == "unknown card"
    r = service.feedback(ehr, SERVICE, {"feedback": [{"card": "x", "outcome": "accepted", "outcomeTimestamp": STAMP}]})
    assert r.status_code == 400 and "acceptedSuggestions" in outcome_of(r)["diagnostics"]
    r = service.feedback(ehr, SERVICE, {"nope": []})
    assert r.status_code == 400


def test_feedback_needs_its_own_audience(queue_service, ehr):
    path = f"/cds-services/{SERVICE}/feedback"
    wrong = ehr.headers("/cds-services")   # a token for discovery
    r = queue_service.request("POST", path, content=json.dumps({"feedback": []}).encode(), headers=wrong)
    assert r.status_code == 401


def test_an_override_reason_of_the_ehrs_own_is_refused_and_the_lines_stay_in_the_queue(queue_service, ehr):
    service, store = queue_service, queue_service.store
    card = card_of(service, ehr)
    r = service.feedback(ehr, SERVICE, {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": STAMP,
                                                      "overrideReason": {"reason": {"code": "d7ecf885",
                                                                                    "system": "https://example.com/cds-hooks/override-reason-system"}}}]})
    assert all(x["result"].startswith("refused: a rejection needs one of the listed reasons")
               for x in r.json()["results"][0]["lines"])
    assert {row.state for row in lines(store).values()} == {"pending"} and audit(store) == []
