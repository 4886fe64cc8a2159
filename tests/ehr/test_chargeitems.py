"""ChargeItem upsert / withdraw / status against the real validating FHIR server (Medplum's router)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.ehr import FhirClient
from plugin.ehr.chargeitems import NEW
from plugin.errors import EhrRefused
from tests.ehr.charges import charge_item, identifier, server_items, someone_sets_status


def test_create_then_unchanged_then_updated(client, fhir_base_url):
    first = client.upsert_charge_item(charge_item(1))
    assert first.outcome == "created" and first.status == "planned"
    again = client.upsert_charge_item(charge_item(1))
    assert (again.outcome, again.id, again.version_id) == ("unchanged", first.id, first.version_id)
    changed = client.upsert_charge_item(charge_item(1, quantity=2))
    assert changed.outcome == "updated" and changed.id == first.id and changed.version_id != first.version_id
    (stored,) = server_items(fhir_base_url, 1)
    assert stored["quantity"]["value"] == 2 and stored["meta"]["versionId"] == changed.version_id


def test_client_supplied_id_and_meta_are_not_sent_as_ours(client, fhir_base_url):
    item = charge_item(2) | {"id": "chosen-by-us", "meta": {"versionId": "x"}, "text": {"status": "generated",
                              "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'}}
    made = client.upsert_charge_item(item)
    assert made.outcome == "created" and made.id != "chosen-by-us"
    assert client.upsert_charge_item(charge_item(2)).outcome == "unchanged"


def test_moved_on_by_someone_else_is_held_and_left_alone(client, fhir_base_url):
    client.upsert_charge_item(charge_item(3))
    billed = someone_sets_status(fhir_base_url, 3, "billable")
    held = client.upsert_charge_item(charge_item(3, quantity=5))
    assert (held.outcome, held.status, held.version_id) == ("held", "billable", billed["meta"]["versionId"])
    assert client.withdraw_charge_item(identifier(3)).outcome == "held"
    (stored,) = server_items(fhir_base_url, 3)
    assert stored["status"] == "billable" and stored["quantity"]["value"] == 1


@pytest.mark.parametrize("status", ["not-billable", "billed", "aborted"])
def test_other_decisions_are_held_too(client, fhir_base_url, status):
    client.upsert_charge_item(charge_item(4))
    someone_sets_status(fhir_base_url, 4, status)
    assert client.upsert_charge_item(charge_item(4, code="70487")).outcome == "held"
    assert server_items(fhir_base_url, 4)[0]["code"]["coding"][0]["code"] == "70486"


def test_withdraw_marks_entered_in_error_once_and_a_returning_line_is_planned_again(client, fhir_base_url):
    client.upsert_charge_item(charge_item(5))
    gone = client.withdraw_charge_item(identifier(5))
    assert (gone.outcome, gone.status) == ("updated", "entered-in-error")
    assert server_items(fhir_base_url, 5)[0]["status"] == "entered-in-error"
    assert client.withdraw_charge_item(identifier(5)).outcome == "unchanged"
    back = client.upsert_charge_item(charge_item(5))
    assert (back.outcome, back.status, back.id) == ("updated", "planned", gone.id)


def test_withdrawing_what_was_never_posted_changes_nothing(client, fhir_base_url):
    assert client.withdraw_charge_item(identifier(6)).outcome == "unchanged"
    assert server_items(fhir_base_url) == []


def test_reviewer_status_on_a_stale_version_is_held_not_written(client, fhir_base_url):
    old = client.upsert_charge_item(charge_item(7))
    new = client.upsert_charge_item(charge_item(7, quantity=3))
    stale = client.set_charge_item_status(identifier(7), "billable", if_match=old.version_id)
    assert (stale.outcome, stale.version_id, stale.status) == ("held", new.version_id, "planned")
    assert server_items(fhir_base_url, 7)[0]["status"] == "planned"
    done = client.set_charge_item_status(identifier(7), "billable", if_match=f'W/"{new.version_id}"')
    assert (done.outcome, done.status) == ("updated", "billable")
    assert server_items(fhir_base_url, 7)[0]["status"] == "billable"


def test_reviewer_status_for_an_unknown_line_or_status_is_refused(client):
    with pytest.raises(EhrRefused, match="no ChargeItem has this charge-line identifier"):
        client.set_charge_item_status(identifier(8), "billable")
    with pytest.raises(ValueError, match="status 'approved'"):
        client.set_charge_item_status(identifier(8), "approved")


def test_two_chargeitems_with_one_identifier_are_refused_not_guessed(client, fhir_base_url):
    for _ in range(2):  # someone else posted twins with plain POSTs
        httpx.post(f"{fhir_base_url}/ChargeItem", json=charge_item(9),
                   headers={"Content-Type": "application/fhir+json"}).raise_for_status()
    with pytest.raises(EhrRefused, match="2 ChargeItems share one charge-line identifier"):
        client.upsert_charge_item(charge_item(9, quantity=2))
    assert {i["quantity"]["value"] for i in server_items(fhir_base_url, 9)} == {1}


def test_the_same_chargeitem_posted_twice_and_from_threads_is_one_resource(fhir_server):
    def post(_):
        with FhirClient(fhir_server.base_url) as own:   # separate clients: only the server can keep them apart
            return own.upsert_charge_item(charge_item(10)).outcome

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(post, range(16)))
    assert outcomes.count("created") == 1 and outcomes.count("unchanged") == 15
    assert len(server_items(fhir_server.base_url, 10)) == 1


def test_concurrent_different_versions_from_one_client_end_in_one_consistent_resource(client, fhir_base_url):
    barrier = threading.Barrier(6)

    def post(q):
        barrier.wait()
        return client.upsert_charge_item(charge_item(11, quantity=q))

    with ThreadPoolExecutor(6) as pool:
        results = dict(zip(range(1, 7), pool.map(post, range(1, 7))))
    (stored,) = server_items(fhir_base_url, 11)
    assert [r.outcome for r in results.values()].count("created") == 1
    assert {r.id for r in results.values()} == {stored["id"]}
    # the version the server holds is one our client wrote, with the quantity that write asked for
    (winner,) = [q for q, r in results.items() if r.version_id == stored["meta"]["versionId"] and r.outcome != "unchanged"]
    assert stored["quantity"]["value"] == winner


# Hypothesis: any order of upserts and withdrawals, each possibly repeated, ends as the last operation says.
operations = st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["upsert-1", "upsert-2", "withdraw"])),
                      min_size=1, max_size=12)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_final_state_is_the_last_operation_per_line_whatever_the_order(fhir_server, ops):
    fhir_server.reset()
    model: dict[int, tuple[str, int] | None] = {}
    with FhirClient(fhir_server.base_url) as c:
        for n, op in ops + ops[-1:]:   # the last one delivered twice
            if op == "withdraw":
                c.withdraw_charge_item(identifier(100 + n))
                if model.get(n):
                    model[n] = ("entered-in-error", model[n][1])
            else:
                q = int(op[-1])
                c.upsert_charge_item(charge_item(100 + n, quantity=q))
                model[n] = ("planned", q)
    for n in range(3):
        stored = server_items(fhir_server.base_url, 100 + n)
        want = model.get(n)
        assert [(s["status"], s["quantity"]["value"]) for s in stored] == ([want] if want else [])


# --- the informed first write: what the caller wrote last saves the search, and never overrides someone else

def _requests(fhir_server) -> int:
    return fhir_server.stats()["fhir_requests"]


def test_a_line_never_written_is_created_in_one_request(client, fhir_server, fhir_base_url):
    before = _requests(fhir_server)
    made = client.upsert_charge_item(charge_item(40), NEW)
    assert made.outcome == "created" and _requests(fhir_server) - before == 1
    assert len(server_items(fhir_base_url, 40)) == 1


def test_a_line_believed_new_but_present_is_found_not_duplicated(client, fhir_base_url):
    first = client.upsert_charge_item(charge_item(41))
    again = client.upsert_charge_item(charge_item(41), NEW)   # e.g. the plugin's database was restored
    assert (again.outcome, again.id) == ("unchanged", first.id)
    changed = client.upsert_charge_item(charge_item(41, quantity=2), NEW)
    assert (changed.outcome, changed.id) == ("updated", first.id)
    assert len(server_items(fhir_base_url, 41)) == 1


def test_an_update_from_the_last_write_is_one_request(client, fhir_server, fhir_base_url):
    first = client.upsert_charge_item(charge_item(42))
    before = _requests(fhir_server)
    changed = client.upsert_charge_item(charge_item(42, quantity=2), (first.id, first.version_id))
    assert changed.outcome == "updated" and _requests(fhir_server) - before == 1
    assert server_items(fhir_base_url, 42)[0]["quantity"]["value"] == 2


def test_a_stale_last_write_never_overrides_a_reviewers_status(client, fhir_base_url):
    first = client.upsert_charge_item(charge_item(43))
    someone_sets_status(fhir_base_url, 43, "billable")
    held = client.upsert_charge_item(charge_item(43, quantity=7), (first.id, first.version_id))
    assert (held.outcome, held.status) == ("held", "billable")
    (stored,) = server_items(fhir_base_url, 43)
    assert stored["status"] == "billable" and stored["quantity"]["value"] == 1
