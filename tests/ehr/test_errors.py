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
