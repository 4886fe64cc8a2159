"""`dwcoder suggest --format fhir` for every clinical case, posted entry by entry: the validating R4 server
(Medplum's validator on the R4 StructureDefinitions) accepts every ChargeItem, and a second posting changes
nothing. This is what proves the ChargeItems the plugin makes are valid R4."""
from __future__ import annotations

import json

import pytest

from plugin.cli import main
from plugin.ehr import FhirClient
from plugin.ehr.chargeitems import content
from tests.ehr.charges import server_items
from tests.engine.test_cases import CASES, case_names, claims_of, expected


def _suggest_fhir(name: str, claim: str, capsys) -> dict:
    code = main(["suggest", str(CASES / name), "--claim", claim, "--practice", expected(name)["practice"],
                 "--format", "fhir", "--fhir-version", "R4"])
    out = capsys.readouterr().out
    assert code in (0, 1), f"{name} [{claim}]: dwcoder suggest exited {code}"
    return json.loads(out)


@pytest.mark.parametrize("name", case_names())
def test_every_case_posts_valid_chargeitems_once(fhir_server, capsys, name):
    entries = [e for claim in claims_of(name) for e in _suggest_fhir(name, claim, capsys).get("entry", [])]
    sent = {}
    with FhirClient(fhir_server.base_url) as c:
        for entry in entries:
            assert entry["request"]["method"] == "PUT"
            result = c.upsert_charge_item(entry["resource"])
            assert result.outcome == "created", entry["resource"]["code"]
            sent[result.id] = content(entry["resource"])
        assert [c.upsert_charge_item(e["resource"]).outcome for e in entries] == ["unchanged"] * len(entries)
    stored = {r["id"]: content(r) for r in server_items(fhir_server.base_url)}
    assert stored == sent
