import json
import logging
import re

from openapi_spec_validator import validate

from plugin.store import Store
from plugin.store.chargeitems import LocalEhr
from plugin.web.app import create_app
from plugin.web.routes import ROUTES, routes_markdown, with_routes
from tests.sources.shapes import SHAPES, procedure
from tests.web.conftest import Service, outcome_of

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_healthz(service):
    assert service.request("GET", "/healthz").json() == {"status": "up"}


def test_unknown_route_and_method_are_operation_outcomes(service):
    r = service.request("GET", "/nope")
    assert r.status_code == 404 and outcome_of(r)["code"] == "not-found"
    r = service.request("GET", "/webhooks/lab")
    assert r.status_code == 405 and outcome_of(r)["code"] == "not-supported"


def test_correlation_id_is_generated_or_passed_or_replaced_when_unsafe(service):
    assert re.fullmatch(r"[0-9a-f]{32}", service.request("GET", "/healthz").headers["x-correlation-id"])
    assert service.request("GET", "/healthz", headers={"x-correlation-id": "abc-1"}).headers["x-correlation-id"] == "abc-1"
    unsafe = service.request("GET", "/healthz", headers={"x-correlation-id": "a b<script>"}).headers["x-correlation-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe)


def test_database_down_is_503_and_nothing_is_queued(settings, tmp_path):
    down = Store(f"sqlite:///{tmp_path}/missing-folder/none.db", migrate=False)
    service = Service(settings, down)
    for r in (service.webhook("lab", json.dumps(procedure()).encode()),
              service.notify("admission", SHAPES["R4"]("event-notification", events=[{"n": 1}]))):
        assert r.status_code == 503 and outcome_of(r)["code"] == "transient" and int(r.headers["retry-after"]) > 0
    assert service.queued == []


def test_openapi_lists_every_route_as_served(service):
    doc = service.request("GET", "/openapi.json").json()
    validate(doc)  # a valid OpenAPI 3.1 document
    served = {(route.path, route.method.lower()) for route in ROUTES}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served == documented
    for route in ROUTES:  # each documented route answers with a documented status (never 404 / 405)
        url = route.path.replace("{subscription_id}", "admission").replace("{source}", "lab").replace("{id}", "x")
        status = service.request(route.method, url).status_code
        assert str(status) in doc["paths"][route.path][route.method.lower()]["responses"], (route.path, status)


def test_docs_routes_table_is_the_route_table():  # after adding a route: python -m plugin.web.routes
    assert (ROOT / "docs" / "routes.md").read_text() == routes_markdown()
    readme = (ROOT / "README.md").read_text()
    assert with_routes(readme) == readme and routes_markdown() in readme


def test_embedded_charge_items(service):
    """Read by a deployment admin only (it holds every practice's items): anonymous 401, a practice's admin 403."""
    from plugin.web.auth.users import add_user
    from tests.web.auth.browser import PASSWORD, Browser

    item = {"resourceType": "ChargeItem", "status": "planned",
            "identifier": [{"system": "https://dwcoder.org/fhir/sid/charge-line", "value": "line-1"}],
            "code": {"coding": [{"system": "http://www.ada.org/cdt", "code": "D0367"}]}, "subject": {"reference": "Patient/pt1"}}
    with service.store.transaction() as session:
        created = LocalEhr(session).upsert_charge_item(item)
    assert service.request("GET", "/fhir/ChargeItem").status_code == 401
    add_user(service.store, "practice-admin", PASSWORD, "admin", "http://hl7.org/fhir/sid/us-npi|1111111112")
    add_user(service.store, "root", PASSWORD, "admin", "*")
    practice_admin, root = Browser(service.app), Browser(service.app)
    assert practice_admin.sign_in("practice-admin").status_code == 303 and root.sign_in("root").status_code == 303
    assert practice_admin.request("GET", f"/fhir/ChargeItem/{created.id}").status_code == 403
    found = root.request("GET", "/fhir/ChargeItem", params={"identifier": "line-1", "status": "planned"}).json()
    assert found["resourceType"] == "Bundle" and [e["resource"]["id"] for e in found["entry"]] == [created.id]
    assert root.request("GET", "/fhir/ChargeItem", params={"status": "billable"}).json()["total"] == 0
    assert root.request("GET", f"/fhir/ChargeItem/{created.id}").json()["identifier"][0]["value"] == "line-1"
    assert root.request("GET", "/fhir/ChargeItem/none").status_code == 404
    assert root.request("GET", "/fhir/ChargeItem", params={"patient": "pt1"}).status_code == 400


def test_no_phi_in_logs_or_refusals(service, caplog):
    caplog.set_level(logging.DEBUG)
    name, mrn = "Zebedee Quillfeather", "MRN-99173"
    patient = {"resourceType": "Patient", "id": "pt1", "name": [{"text": name}],
               "identifier": [{"system": "urn:mrn", "value": mrn}]}
    bad = dict(patient, birthDate=name)
    answers = [
        service.webhook("lab", json.dumps(patient).encode(), msg_id="ok"),
        service.webhook("lab", json.dumps(bad).encode(), msg_id="bad"),
        service.webhook("lab", json.dumps(patient).encode()[:-3], msg_id="broken"),
        service.notify("admission", SHAPES["R4"]("event-notification", resources=[bad], events=[{"n": 1}])),
        service.notify("admission", SHAPES["R4"]("event-notification", events=[
            {"n": 1, "focus": [f"https://{mrn}.example/Patient/pt1?name={name}"]}])),
        service.request("POST", f"/webhooks/lab?patient={mrn}", content=b"{}", headers={"content-type": "text/plain"}),
    ]
    assert [r.status_code for r in answers] == [202, 422, 400, 422, 422, 415]
    service_log = "\n".join(rec.getMessage() for rec in caplog.records if rec.name.startswith("dwcoder"))
    assert service_log.count("POST /") == len(answers)  # one access line each (the test client's own log is not ours)
    for text in [service_log] + [r.text for r in answers[1:]]:
        assert name not in text and mrn not in text and "Zebedee" not in text


def test_a_queue_that_is_down_loses_nothing(settings, store, caplog):
    def broken(event_id):
        raise ConnectionError("redis://secret-host down")

    service = Service(settings, store)
    service.app = create_app(settings, store=store, queue_event=broken)
    r = service.webhook("lab", json.dumps(procedure()).encode())
    assert r.status_code == 202 and service.stored() == 1  # in the database: the sweeper queues it again
    assert "ConnectionError" in caplog.text and "secret-host" not in caplog.text


def test_an_unexpected_error_is_a_500_outcome_naming_nothing(settings, store, caplog):
    class Exploding:  # a store whose every use fails with patient data in the exception's text
        def __getattr__(self, name):
            raise RuntimeError("Patient Zebedee Quillfeather")

    service = Service(settings, store)
    service.app = create_app(settings, store=Exploding(), queue_event=service.queued.append)
    r = service.webhook("lab", json.dumps(procedure()).encode())
    assert r.status_code == 500 and outcome_of(r)["code"] == "exception"
    assert "RuntimeError" in caplog.text and "Zebedee" not in caplog.text + r.text
