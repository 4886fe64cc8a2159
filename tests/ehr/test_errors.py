"""Failures classified for the pipeline: EhrUnavailable (retry later) vs EhrRefused (dead letter)."""
from __future__ import annotations

import logging
import socket
import threading

import pytest

from plugin.ehr import FhirClient
from plugin.errors import EhrRefused, EhrUnavailable
from tests.ehr.charges import charge_item, server_items

MARKER = "Brennan-Aoife-MRN-4711"   # stands for patient data inside a payload


def test_invalid_chargeitem_is_refused_with_the_validators_path_and_no_payload_values(client, caplog):
    caplog.set_level(logging.DEBUG, logger="dwcoder.ehr")
    bad = charge_item(1) | {"note": [{"text": MARKER}], "flavour": MARKER}
    del bad["subject"]
    with pytest.raises(EhrRefused, match=r"ChargeItem.subject: Missing required property") as err:
        client.upsert_charge_item(bad)
    assert err.value.status == 400 and not isinstance(err.value, EhrUnavailable)
    assert "ChargeItem.flavour" in str(err.value)
    assert MARKER not in str(err.value) and MARKER not in caplog.text


def test_server_down_is_unavailable_and_the_data_survives_a_restart(client, fhir_server):
    made = client.upsert_charge_item(charge_item(2))
    fhir_server.stop()
    with pytest.raises(EhrUnavailable, match="unreachable") as err:
        client.upsert_charge_item(charge_item(2, quantity=4))
    assert err.value.status == 0 and fhir_server.base_url not in str(err.value)
    fhir_server.start()
    again = client.upsert_charge_item(charge_item(2, quantity=4))
    assert (again.outcome, again.id) == ("updated", made.id)
    assert len(server_items(fhir_server.base_url, 2)) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_unavailable(client, fhir_server, status):
    fhir_server.control("POST", "$fail", {"status": status, "count": 1})
    with pytest.raises(EhrUnavailable, match=f"answered {status}") as err:
        client.upsert_charge_item(charge_item(3))
    assert err.value.status == status
    assert client.upsert_charge_item(charge_item(3)).outcome == "created"


def test_429_is_unavailable_and_keeps_retry_after(client, fhir_server):
    fhir_server.control("POST", "$fail", {"status": 429, "count": 1, "retry_after": "7"})
    with pytest.raises(EhrUnavailable, match="answered 429") as err:
        client.read("Procedure/x")
    assert (err.value.status, err.value.retry_after) == (429, 7.0)


def test_403_is_refused(client, fhir_server):
    fhir_server.control("POST", "$fail", {"status": 403, "count": 1})
    with pytest.raises(EhrRefused, match=r"refused it \(403\)"):
        client.read("Procedure/x")


def test_a_server_that_never_answers_times_out_as_unavailable():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        accepted = []
        threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
        port = listener.getsockname()[1]
        with FhirClient(f"http://127.0.0.1:{port}/fhir", timeout=0.5) as slow:
            with pytest.raises(EhrUnavailable, match="timed out"):
                slow.read("Procedure/x")
        for conn, _ in accepted:
            conn.close()


def test_a_version_conflict_is_re_read_and_retried(client, fhir_server):
    client.upsert_charge_item(charge_item(4))
    fhir_server.control("POST", "$fail", {"status": 412, "count": 2, "method": "PUT"})
    done = client.upsert_charge_item(charge_item(4, quantity=3))
    assert done.outcome == "updated"
    assert server_items(fhir_server.base_url, 4)[0]["quantity"]["value"] == 3


def test_a_conflict_that_persists_is_unavailable_after_bounded_attempts(client, fhir_server):
    from plugin.ehr.chargeitems import MAX_ATTEMPTS
    client.upsert_charge_item(charge_item(5))
    fhir_server.control("POST", "$fail", {"status": 412, "count": MAX_ATTEMPTS, "method": "PUT"})
    before = fhir_server.stats()["fhir_requests"]
    with pytest.raises(EhrUnavailable, match=f"still conflicting after {MAX_ATTEMPTS} attempts"):
        client.upsert_charge_item(charge_item(5, quantity=3))
    assert fhir_server.stats()["fhir_requests"] - before == 2 * MAX_ATTEMPTS   # search + PUT each time, then stop
    assert server_items(fhir_server.base_url, 5)[0]["quantity"]["value"] == 1


def test_retry_after_as_an_http_date(client, fhir_server):
    from email.utils import formatdate
    import time
    fhir_server.control("POST", "$fail", {"status": 503, "count": 1, "retry_after": formatdate(time.time() + 60, usegmt=True)})
    with pytest.raises(EhrUnavailable) as err:
        client.read("Procedure/x")
    assert 50 <= err.value.retry_after <= 60


@pytest.mark.parametrize(("version", "mime"), [("R4", "fhirVersion=4.0"), ("R4B", "fhirVersion=4.3"), ("R5", "fhirVersion=5.0")])
def test_the_configured_fhir_version_is_asked_for(fhir_server, version, mime):
    with FhirClient(fhir_server.base_url, version=version) as c:
        c.read("Procedure/x")
    assert fhir_server.stats()["last_accept"] == f"application/fhir+json; {mime}"
    with pytest.raises(ValueError, match="FHIR version 'R3'"):
        FhirClient(fhir_server.base_url, version="R3")
