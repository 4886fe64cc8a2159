"""plugin/store/chargeitems.py: the embedded EHR answers like the FHIR client (created/updated/unchanged/held)."""
from __future__ import annotations

from plugin.store import Store, chargeitems
from plugin.store.chargeitems import LocalEhr

IDENT = {"system": "https://dwcoder.org/fhir/sid/charge-line", "value": "0f9a"}


def _item(quantity: int = 1, status: str = "planned") -> dict:
    return {"resourceType": "ChargeItem", "identifier": [IDENT], "status": status,
            "code": {"coding": [{"code": "D0330"}]}, "subject": {"reference": "Patient/p"}, "quantity": {"value": quantity}}


def test_upsert_withdraw_and_held(database_url):
    store = Store(database_url)
    with store.transaction() as s:
        ehr = LocalEhr(s)
        created = ehr.upsert_charge_item(_item())
        assert created.outcome == "created" and created.version_id == "1"
        assert ehr.upsert_charge_item(_item()).outcome == "unchanged"
        updated = ehr.upsert_charge_item(_item(2))
        assert (updated.id, updated.version_id, updated.outcome) == (created.id, "2", "updated")
    stored = chargeitems.read(store, created.id)
    assert stored["quantity"] == {"value": 2} and stored["meta"]["versionId"] == "2"
    assert [i["id"] for i in chargeitems.search(store, identifier=f"{IDENT['system']}|{IDENT['value']}")] == [created.id]
    assert [i["id"] for i in chargeitems.search(store, identifier="0f9a", status="planned")] == [created.id]
    assert chargeitems.search(store, status="billable") == []
    with store.transaction() as s:
        ehr = LocalEhr(s)
        assert ehr.withdraw_charge_item(IDENT).outcome == "updated"
        assert ehr.withdraw_charge_item(IDENT).outcome == "unchanged"
        assert ehr.upsert_charge_item(_item(2)).outcome == "updated"  # suggested again: back to planned
        assert ehr.set_charge_item_status(IDENT, "billable", if_match='W/"1"').outcome == "held"  # stale version
        assert ehr.set_charge_item_status(IDENT, "billable").outcome == "updated"
        assert ehr.upsert_charge_item(_item(3)).outcome == "held"  # a reviewer decided: never overwritten
        assert ehr.withdraw_charge_item(IDENT).outcome == "held"
    assert chargeitems.read(store, created.id)["status"] == "billable"
    assert chargeitems.read(store, created.id)["quantity"] == {"value": 2}
    assert chargeitems.read(store, "no-such-id") is None
    store.dispose()


def test_provenance_names_the_device_and_the_evidence(database_url):
    import json

    from sqlalchemy import select

    from plugin.store.models import LocalProvenance

    store = Store(database_url)
    with store.transaction() as s:
        pid = LocalEhr(s).post_provenance(["ChargeItem/x"], ["Procedure/p1", "Series/1.2.3", "File/upper.stl"], "dwcoder")
    with store.sessions() as s:
        prov = json.loads(s.scalar(select(LocalProvenance.resource).where(LocalProvenance.id == pid)))
    assert prov["target"] == [{"reference": "ChargeItem/x"}]
    assert prov["agent"][0]["who"] == {"display": "dwcoder"}
    assert [e["what"] for e in prov["entity"]] == [
        {"reference": "Procedure/p1"},
        {"identifier": {"system": "urn:dicom:uid", "value": "urn:oid:1.2.3"}, "display": "DICOM series"},
        {"display": "file upper.stl"}]
    store.dispose()


def test_every_decided_status_is_held_like_the_fhir_client(database_url):
    from plugin.ehr import HELD_STATUSES

    store = Store(database_url)
    for n, status in enumerate(sorted(HELD_STATUSES)):
        ident = {**IDENT, "value": f"v{n}"}
        with store.transaction() as s:
            ehr = LocalEhr(s)
            ehr.upsert_charge_item({**_item(), "identifier": [ident]})
            ehr.set_charge_item_status(ident, status)
            assert ehr.upsert_charge_item({**_item(5), "identifier": [ident]}).outcome == "held", status
            assert ehr.withdraw_charge_item(ident).outcome == "held", status
    store.dispose()
