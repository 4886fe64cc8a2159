"""Provenance: the plugin (a Device) as author of the ChargeItems, the evidence as entities."""
from __future__ import annotations

import pytest

from plugin.ehr.provenance import DEVICE_SYSTEM, build
from tests.ehr.charges import charge_item


def test_provenance_is_accepted_by_the_validating_server_and_reads_back(client):
    a = client.upsert_charge_item(charge_item(1))
    b = client.upsert_charge_item(charge_item(2))
    pid = client.post_provenance([f"ChargeItem/{a.id}", f"ChargeItem/{b.id}/_history/{b.version_id}"],
                                 ["Procedure/p1", "Series/1.2.840.1", "File/scan.stl", "Procedure/p1"],
                                 "digital-workflow-coder 0.1.0")
    stored = client.read(f"Provenance/{pid}")
    assert [t["reference"] for t in stored["target"]] == [f"ChargeItem/{a.id}", f"ChargeItem/{b.id}/_history/{b.version_id}"]
    (agent,) = stored["agent"]
    assert agent["type"]["coding"][0]["code"] == "author"
    assert agent["who"]["type"] == "Device" and agent["who"]["identifier"]["system"] == DEVICE_SYSTEM
    assert agent["who"]["display"] == "digital-workflow-coder 0.1.0"
    assert [e["what"] for e in stored["entity"]] == [
        {"reference": "Procedure/p1"},
        {"identifier": {"system": "urn:dicom:uid", "value": "urn:oid:1.2.840.1"}, "display": "DICOM series"},
        {"display": "file scan.stl"},
    ]
    assert {e["role"] for e in stored["entity"]} == {"source"}
    assert client.search("Provenance", {"target": f"ChargeItem/{a.id}"})[0]["id"] == pid


def test_provenance_needs_plain_targets():
    with pytest.raises(ValueError, match="at least one target"):
        build([], ["Procedure/1"], "dwcoder")
    with pytest.raises(ValueError, match="'Type/id' reference"):
        build(["http://elsewhere.example/ChargeItem/1"], [], "dwcoder")
