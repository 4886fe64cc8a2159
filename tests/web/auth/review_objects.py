"""Objects of the reviewer queue for the route-table walk: a case of a given practice, made by sending the
contract's implant-posterior-mandible example through the real pipeline (readers, store, recomputation, the
queue's sync) with DWCODER_PRACTICE set to that practice, on the store the app under test uses."""
from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import select

from plugin import feed, pipeline
from plugin.store.review import ReviewCase, ReviewLine
from tests.pipeline.runner import CONTRACT, drain, send_direct
from tests.store.databases import settings_for
from tests.web.auth.objects import param_factory, request_factory

CASE = CONTRACT / "implant-posterior-mandible"


def case_of_practice(store, practice: str) -> ReviewCase:
    """A review case (with its lines) of `practice` in `store`, through the pipeline."""
    home = Path(tempfile.mkdtemp(prefix="dwcoder-auth-"))
    ctx = pipeline.Context(settings_for(store.url, home, DWCODER_PRACTICE=practice), store)
    send_direct(ctx, feed.folder_events(CASE))
    drain(ctx)
    with store.sessions() as db:
        found = db.scalars(select(ReviewCase).where(ReviewCase.practice == practice).order_by(ReviewCase.id.desc())).first()
    assert found is not None, f"the pipeline made no review case of {practice}"
    return found


@param_factory("case_id")
def case_id(store, practice: str) -> str:
    return str(case_of_practice(store, practice).id)


@param_factory("identifier")
def line_identifier(store, practice: str) -> str:
    case = case_of_practice(store, practice)
    with store.sessions() as db:
        return db.scalars(select(ReviewLine.identifier).where(ReviewLine.case_id == case.id)).first()


@param_factory("service_id")
def cds_service(store, practice: str) -> str:
    """A CDS service that exists (the cds-jwt rows must refuse a call without its JWT, not merely not find it)."""
    from plugin.cds import services

    return sorted(services.BY_ID)[0]


@request_factory("GET", "/fhir/ChargeItem/{id}", insider="*")
def embedded_charge_item(store, practice: str) -> tuple[str, dict]:
    """The embedded EHR's ChargeItems are every practice's: only a deployment admin ("*") reads them."""
    from plugin.store.chargeitems import LocalEhr

    item = {"resourceType": "ChargeItem", "status": "planned", "subject": {"reference": "Patient/p1"},
            "identifier": [{"system": "https://dwcoder.org/fhir/sid/charge-line", "value": "walk-1"}],
            "code": {"coding": [{"system": "http://www.ada.org/cdt", "code": "D0367"}]}}
    with store.transaction() as db:
        created = LocalEhr(db).upsert_charge_item(item)
    return f"/fhir/ChargeItem/{created.id}", {}
