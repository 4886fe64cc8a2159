"""Hook calls: cards from the same engine and store as the pipeline, prefetch present / partial / absent (then
fetched from the real FHIR test server with the request's own access token), validated against the CDS Hooks
2.0 response schema."""
import json
import logging
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import text

from plugin.settings import Settings
from plugin.store import Store
from tests.cds import scenario
from tests.cds.conftest import PRACTICE, Service, cds_env, outcome_of

SCHEMA = json.loads((Path(__file__).with_name("cds-hooks-2.0.schema.json")).read_text())
SERVICE = scenario.SERVICE


def valid(document: dict, what: str = "response") -> dict:
    jsonschema.validate(document, {**SCHEMA, "$ref": f"#/$defs/{what}"})
    return document


def only_card(response) -> dict:
    assert response.status_code == 200, response.text
    cards = valid(response.json())["cards"]
    assert len(cards) == 1, cards
    return cards[0]


@pytest.fixture
def db_service(tmp_path, jwks, database_url):
    settings = Settings.from_env(cds_env(tmp_path, database_url, jwks), dotenv=None)
    store = Store.from_settings(settings)
    yield Service(settings, store)
    store.dispose()


def test_discovery_validates_and_names_the_prefetch_templates(service, ehr):
    r = service.request("GET", "/cds-services", headers=ehr.headers("/cds-services"))
    doc = valid(r.json(), "discovery")
    discharge = next(s for s in doc["services"] if s["hook"] == "encounter-discharge")
    assert discharge["prefetch"]["encounter"] == "Encounter/{{context.encounterId}}"
    assert discharge["prefetch"]["procedures"] == "Procedure?encounter=Encounter/{{context.encounterId}}"
    assert discharge["prefetch"]["coverage"] == "Coverage?patient=Patient/{{context.patientId}}"
    assert {"imagingStudies", "documents", "patient"} <= set(discharge["prefetch"])


def test_cbct_through_the_pipeline_and_procedures_only_in_the_prefetch(db_service, ehr):
    """The PACS sent the CBCT (DICOM + ImagingStudy) to the pipeline; the Procedures exist only in the EHR's
    prefetch. The card offers the lines of both: exactly what `dwcoder suggest` gives for all of it together."""
    scenario.through_pipeline(db_service.settings, db_service.store, skip_types=("Procedure",))
    prefetch = {"procedures": scenario.searchset(scenario.of_type("Procedure")), "documents": None, "coverage": None}
    card = only_card(db_service.hook(ehr, SERVICE, scenario.request(prefetch=prefetch)))
    assert scenario.card_lines(card) == scenario.expected_identifiers(PRACTICE)
    codes = {s["actions"][0]["resource"]["code"]["coding"][0]["code"] for s in card["suggestions"] if len(s["actions"]) == 1}
    assert "D0366" in codes        # the CBCT, known only from the pipeline's DICOM
    assert {"D0393", "D0396"} <= codes   # the simulation and the printed model, known only from the prefetch
    assert "D0366" in card["detail"] and "D0393" in card["detail"]


def test_without_the_prefetch_the_pipeline_alone_gives_fewer_lines(db_service, ehr):
    scenario.through_pipeline(db_service.settings, db_service.store, skip_types=("Procedure",))
    card = only_card(db_service.hook(ehr, SERVICE, scenario.request(prefetch={k: None for k in
                                                                              ("procedures", "documents", "coverage")})))
    assert scenario.card_lines(card) < scenario.expected_identifiers(PRACTICE)


def test_prefetch_never_replaces_what_the_store_holds(db_service, ehr):
    """A prefetch that lacks the ImagingStudy (null: the EHR has none) does not remove the pipeline's CBCT."""
    scenario.through_pipeline(db_service.settings, db_service.store)
    prefetch = {**scenario.full_prefetch(), "imagingStudies": None}
    card = only_card(db_service.hook(ehr, SERVICE, scenario.request(prefetch=prefetch)))
    assert scenario.card_lines(card) == scenario.expected_identifiers(PRACTICE)


def test_card_shape(service, ehr):
    """Everything in the prefetch, nothing in the store (cold case): one warning card with what to add."""
    scenario.through_pipeline(service.settings, service.store, skip_types=tuple(
        {r["resourceType"] for r in scenario.resources()} - {"Organization", "Practitioner", "PractitionerRole", "Device"}))
    card = only_card(service.hook(ehr, SERVICE, scenario.request(prefetch=scenario.full_prefetch())))
    assert len(card["summary"]) < 140 and card["summary"].startswith("Before signing: add")
    assert card["indicator"] == "warning"
    assert "**Before signing, add to the record:**" in card["detail"]
    assert card["selectionBehavior"] == "any"
    per_line = [s for s in card["suggestions"] if len(s["actions"]) == 1]
    every = [s for s in card["suggestions"] if len(s["actions"]) > 1]
    assert len(every) == 1 and len(every[0]["actions"]) == len(per_line)
    for s in per_line:
        action = s["actions"][0]
        assert action["type"] == "create" and action["resource"]["resourceType"] == "ChargeItem"
        assert action["resource"]["identifier"][0]["value"] == s["uuid"]
        assert action["resource"]["subject"] == {"reference": "Patient/pt"}
    assert card["overrideReasons"] and all(r["display"] for r in card["overrideReasons"])
    assert card["links"][0]["url"].startswith("https://cds.example.org/review")
    # stable: the same call again gives the same card and suggestion uuids
    again = only_card(service.hook(ehr, SERVICE, scenario.request(prefetch=scenario.full_prefetch())))
    assert again["uuid"] == card["uuid"] and [s["uuid"] for s in again["suggestions"]] == [s["uuid"] for s in card["suggestions"]]


def test_missing_documentation_is_named_exactly(service, ehr):
    """Each item the engine's documentation check finds missing is on the card, with its code, before the charges."""
    from plugin.cds.cards import _md
    from plugin.coding import code_evidence
    from plugin.evidence.files import read_json_data

    prefetch = scenario.full_prefetch()
    card = only_card(service.hook(ehr, SERVICE, scenario.request(prefetch=prefetch)))
    found = [r for v in prefetch.values() if v for r in ([e["resource"] for e in v["entry"]] if v.get("entry") else [v])]
    answer = next(x for x in code_evidence(read_json_data("t", {"resourceType": "Bundle", "type": "collection",
                                                                "entry": [{"resource": r} for r in found]}), PRACTICE, None)
                  if x.encounter == "Encounter/enc")
    missing = [(line, c.item) for line in answer.lines for c in line.documentation_check if not c.present]
    assert missing, "the scenario must have missing documentation"
    to_add = card["detail"].split("**Suggested charges**")[0]
    for line, item in missing:
        assert f"- **{line.code}** ({_md(line.label)}): add {_md(item)}" in to_add
    assert f"add {len(missing)} documentation item" in card["summary"]


def test_prefetch_absent_everything_is_fetched_from_the_fhir_server_with_the_given_token(service, ehr, fhir_server, caplog):
    from plugin.ehr.auth import SmartBackendAuth
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    import httpx

    scenario.on_server(fhir_server, scenario.resources())
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    fhir_server.control("POST", "$auth", {"clients": [{"client_id": "ehr-test", "public_key_pem": public.decode(),
                                                       "kid": "k1"}], "token_lifetime": 300})
    with httpx.Client() as http:
        token = SmartBackendAuth(f"{fhir_server.root}/auth/token", "ehr-test", pem, "k1", alg="ES384").header(
            http, fhir_server.base_url).split(" ", 1)[1]
    caplog.set_level(logging.DEBUG)
    before = fhir_server.stats()["fhir_requests"]
    body = scenario.request(fhir_server=fhir_server.base_url, token=token)
    card = only_card(service.hook(ehr, SERVICE, body))
    assert fhir_server.stats()["fhir_requests"] - before == 6   # one read or search per prefetch template
    codes = {s["actions"][0]["resource"]["code"]["coding"][0]["code"] for s in card["suggestions"] if len(s["actions"]) == 1}
    assert {"D0393", "D5988"} <= codes
    assert "Not read from the EHR" not in card["detail"]
    # fetching gives what the same data gives as prefetch
    prefetched = only_card(service.hook(ehr, SERVICE, scenario.request(prefetch=scenario.full_prefetch())))
    assert scenario.card_lines(card) == scenario.card_lines(prefetched)
    # the token: never logged, never stored
    assert token not in caplog.text
    assert token not in _database_text(service.store)
    # without a valid token the server refuses every read: nothing is known, so 412 (the spec's answer)
    before = fhir_server.stats()["fhir_requests"]
    r = service.hook(ehr, SERVICE, scenario.request(fhir_server=fhir_server.base_url, token="not-the-token"))
    # (the FHIR client tries each read once more after a 401, as it does for any token)
    assert r.status_code == 412 and fhir_server.stats()["fhir_requests"] - before == 12
    # with part of it prefetched, the card answers and names what could not be read
    r = service.hook(ehr, SERVICE, scenario.request(fhir_server=fhir_server.base_url, token="not-the-token",
                                                    prefetch={"procedures": scenario.searchset(scenario.of_type("Procedure"))}))
    assert r.status_code == 200
    detail = valid(r.json())["cards"][0]["detail"]
    assert all(f"{key} (EhrRefused)" in detail for key in ("patient", "encounter", "imagingStudies", "documents", "coverage"))


def test_prefetch_partial_the_rest_is_fetched(service, ehr, fhir_server):
    scenario.on_server(fhir_server, scenario.of_type("Procedure", "Patient", "Encounter"))
    prefetch = {"patient": scenario.of_type("Patient")[0], "encounter": scenario.of_type("Encounter")[0]}
    before = fhir_server.stats()["fhir_requests"]
    card = only_card(service.hook(ehr, SERVICE, scenario.request(prefetch=prefetch, fhir_server=fhir_server.base_url,
                                                                 token="open-server")))
    assert fhir_server.stats()["fhir_requests"] - before == 4   # procedures, imagingStudies, documents, coverage
    whole = {**prefetch, "procedures": scenario.searchset(scenario.of_type("Procedure")), "imagingStudies": None,
             "documents": None, "coverage": None}
    assert scenario.card_lines(card) == scenario.card_lines(only_card(service.hook(ehr, SERVICE, scenario.request(prefetch=whole))))
    assert "D5988" in card["detail"]


def test_fhir_server_not_allow_listed_is_never_called(tmp_path, jwks, ehr, fhir_server):
    settings = Settings.from_env(cds_env(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", jwks,
                                         fhir_servers=["https://ehr.example.com/fhir"]), dotenv=None)
    store = Store.from_settings(settings)
    try:
        before = fhir_server.stats()["fhir_requests"]
        r = Service(settings, store).hook(ehr, SERVICE, scenario.request(
            prefetch={"patient": scenario.of_type("Patient")[0]}, fhir_server=fhir_server.base_url, token="t"))
        assert fhir_server.stats()["fhir_requests"] == before
        assert r.status_code == 200
        assert all("not allow-listed" in c["detail"] for c in r.json()["cards"])
    finally:
        store.dispose()


def test_nothing_known_and_nothing_readable_is_412(service, ehr):
    r = service.hook(ehr, SERVICE, scenario.request())
    assert r.status_code == 412 and outcome_of(r)["code"] == "incomplete"


def test_other_patients_resources_in_the_prefetch_are_left_out(service, ehr):
    other = dict(scenario.of_type("Procedure")[0], subject={"reference": "Patient/someone-else"}, id="stray")
    prefetch = {**scenario.full_prefetch(), "procedures": scenario.searchset(scenario.of_type("Procedure") + [other])}
    card = only_card(service.hook(ehr, SERVICE, scenario.request(prefetch=prefetch)))
    assert "1 resource(s) naming another patient (left out)" in card["detail"]
    assert "stray" not in json.dumps(card)


def test_case_not_ready_is_said_on_the_card(service, ehr):
    from plugin.feed import folder_events
    from plugin.store.events import accept

    accept(service.store, folder_events(scenario.FOLDER)[:3])   # received, not processed yet
    card = only_card(service.hook(ehr, SERVICE, scenario.request(prefetch=scenario.full_prefetch())))
    assert card["summary"].endswith("(still processing)") and "_Not final:" in card["detail"]


def test_order_sign_and_appointment_book(service, ehr):
    scenario.through_pipeline(service.settings, service.store)
    card = only_card(service.hook(ehr, "dwcoder-order-sign", scenario.request("order-sign", prefetch={})))
    assert scenario.card_lines(card) == scenario.expected_identifiers(PRACTICE)
    r = service.hook(ehr, "dwcoder-appointment-book", scenario.request("appointment-book", prefetch={}, encounter=None))
    reminder = only_card(r)
    assert "suggestions" not in reminder and reminder["indicator"] == "warning"
    assert "**Before signing, add to the record:**" in reminder["detail"]


@pytest.mark.parametrize("change,status,words", [
    ({"hook": "patient-view"}, 400, "encounter-discharge"),
    ({"context": {"patientId": "pt"}}, 400, "encounterId"),
    ({"context": {"patientId": "../x", "encounterId": "enc"}}, 400, "patientId"),
    ({"hookInstance": None}, 400, "hookInstance"),
])
def test_bad_requests(service, ehr, change, status, words):
    body = {**scenario.request(prefetch={}), **change}
    r = service.hook(ehr, SERVICE, body)
    assert r.status_code == status and words in outcome_of(r)["diagnostics"]


def test_unknown_service_is_404(service, ehr):
    r = service.hook(ehr, "nope", scenario.request())
    assert r.status_code == 404


def test_prefetch_resources_join_the_case_through_the_pipeline(service, ehr):
    """The hook stores what it brought as one event: the pipeline adds it to the case like any evidence."""
    from plugin import pipeline
    from tests.pipeline.runner import drain

    only_card(service.hook(ehr, SERVICE, scenario.request(prefetch=scenario.full_prefetch())))
    assert len(service.queued) == 1
    drain(pipeline.Context(service.settings, service.store))
    with service.store.sessions() as s:
        keys = set(s.scalars(text("SELECT key FROM evidence WHERE case_key = 'Patient/pt'")))
    assert {"Procedure/sim", "Procedure/print", "ImagingStudy/img", "Encounter/enc"} <= keys


def _database_text(store) -> str:
    out = []
    with store.sessions() as s:
        for table in ("events", "evidence", "cds_cards", "cds_jti", "postings", "suggestions", "dead_letters"):
            for row in s.execute(text(f"SELECT * FROM {table}")):
                out.append(" ".join(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row))
    return "\n".join(out)


def test_a_case_the_pipeline_changed_is_coded_again(db_service, ehr):
    """Answers are cached per case version: evidence arriving through the pipeline shows on the next call."""
    from plugin import pipeline
    from plugin.feed import folder_events
    from plugin.store.events import accept
    from tests.pipeline.runner import drain

    scenario.through_pipeline(db_service.settings, db_service.store, skip_types=("Procedure",))
    body = scenario.request(prefetch={k: None for k in ("procedures", "imagingStudies", "documents", "coverage")})
    before = scenario.card_lines(only_card(db_service.hook(ehr, SERVICE, body)))
    assert scenario.card_lines(only_card(db_service.hook(ehr, SERVICE, body))) == before
    accept(db_service.store, [e for e in folder_events(scenario.FOLDER)
                              if e.kind == "fhir" and json.loads(e.body)["resourceType"] == "Procedure"])
    drain(pipeline.Context(db_service.settings, db_service.store))
    after = scenario.card_lines(only_card(db_service.hook(ehr, SERVICE, body)))
    assert before < after == scenario.expected_identifiers(PRACTICE)


from hypothesis import HealthCheck, given, settings as hsettings, strategies as st  # noqa: E402


@hsettings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.randoms(use_true_random=False), st.integers(min_value=1, max_value=3))
def test_prefetch_order_and_repeats_do_not_change_the_card(service, ehr, rnd, copies):
    """Any order of the prefetched resources, each given up to three times, gives the same card."""
    procedures = scenario.of_type("Procedure") * copies
    rnd.shuffle(procedures)
    prefetch = {**scenario.full_prefetch(), "procedures": scenario.searchset(procedures)}
    card = only_card(service.hook(ehr, SERVICE, scenario.request(prefetch=prefetch)))
    plain = only_card(service.hook(ehr, SERVICE, scenario.request(prefetch=scenario.full_prefetch())))
    def said(c):   # the summary without "(still processing)": the first call's stored prefetch is still queued
        return c["summary"].replace(" (still processing)", "")
    assert (card["uuid"], scenario.card_lines(card), said(card)) == (plain["uuid"], scenario.card_lines(plain), said(plain))


def test_no_patient_data_in_the_logs(service, ehr, caplog):
    caplog.set_level(logging.DEBUG)
    patient = dict(scenario.of_type("Patient")[0], name=[{"text": "Zebedee Quillfeather"}])
    prefetch = {**scenario.full_prefetch(), "patient": patient}
    only_card(service.hook(ehr, SERVICE, scenario.request(prefetch=prefetch)))
    for secret in ("Zebedee", "Quillfeather", "MRN-R", "Patient/pt", "Encounter/enc"):
        assert secret not in caplog.text
