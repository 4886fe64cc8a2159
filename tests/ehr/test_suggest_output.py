"""`dwcoder suggest --format fhir` for every clinical case, posted entry by entry: the validating R4 server
(Medplum's validator on the R4 StructureDefinitions) accepts every ChargeItem, and a second posting changes
nothing. This is what proves the ChargeItems the plugin makes are valid R4."""
from __future__ import annotations

import contextlib
import functools
import io
import json

import httpx
import pytest

from plugin.cli import main
from plugin.ehr import FhirClient
from plugin.ehr.chargeitems import content
from tests.ehr.charges import server_items
from tests.engine.test_cases import CASES, case_names, claims_of, expected


@functools.cache
def _suggest_fhir(name: str, claim: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["suggest", str(CASES / name), "--claim", claim, "--practice", expected(name)["practice"],
                     "--format", "fhir", "--fhir-version", "R4"])
    assert code in (0, 1), f"{name} [{claim}]: dwcoder suggest exited {code}"
    return out.getvalue()


def _entries(name: str) -> list[dict]:
    return [e for claim in claims_of(name) for e in json.loads(_suggest_fhir(name, claim)).get("entry", [])]


@pytest.mark.parametrize("name", case_names())
def test_every_case_posts_valid_chargeitems_once(fhir_server, name):
    entries = _entries(name)
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


@pytest.mark.parametrize("name", case_names())
def test_the_bundle_as_printed_posts_twice_without_duplicates(fhir_server, name):
    """The README's promise: the printed Bundle's conditional PUTs update instead of duplicating."""
    bundles = [json.loads(_suggest_fhir(name, claim)) for claim in claims_of(name)]
    bundles = [b for b in bundles if b.get("entry")]   # Medplum's router answers 400 to a Bundle without entries
    for _ in range(2):
        for bundle in bundles:
            out = httpx.post(fhir_server.base_url, json=bundle, headers={"Content-Type": "application/fhir+json"})
            out.raise_for_status()
            statuses = [e["response"]["status"] for e in out.json().get("entry", [])]
            assert all(s.startswith(("200", "201")) for s in statuses), statuses
    assert len(server_items(fhir_server.base_url)) == sum(len(b.get("entry", [])) for b in bundles)
