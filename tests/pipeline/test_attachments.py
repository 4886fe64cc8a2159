"""EHR documents (issue 8 part 3): a DocumentReference whose attachment is a scan is fetched from the FHIR server
and read like a file; an attachment URL off the configured base is never fetched."""
from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from plugin import feed, pipeline
from plugin.ehr import FhirClient
from plugin.store.events import accept
from plugin.store.models import DeadLetter, Event
from tests.ehr.test_binary import STL, put_binary
from tests.pipeline.conftest import EXAMPLE, PRACTICE
from tests.pipeline.runner import active, cli_items, drain

@pytest.fixture
def ctx(fhir_ctx):  # the real FHIR test server behind the pipeline
    return fhir_ctx


def document(url: str, title: str = "upper.stl", content_type: str = "model/stl") -> dict:
    return {"resourceType": "DocumentReference", "id": "doc-scan", "status": "current",
            "subject": {"reference": "Patient/pt"}, "context": {"encounter": [{"reference": "Encounter/enc"}]},
            "description": "intraoral scan export",
            "content": [{"attachment": {"contentType": content_type, "url": url, "title": title}}]}


def case_with_document(tmp_path, doc: dict, with_stl: bool):
    """The example case with the scan as a DocumentReference instead of a file (and, for `dwcoder suggest`,
    the same scan as the file the document holds)."""
    folder = tmp_path / ("with-file" if with_stl else "document-only")
    shutil.copytree(EXAMPLE, folder)
    if not with_stl:
        (folder / "upper.stl").unlink()
    (folder / "document.json").write_text(json.dumps(doc))
    return folder


def _dead(ctx) -> list[tuple[str, str, str]]:
    with ctx.store.sessions() as s:
        return [(e.kind, d.reason, d.message) for d, e in s.execute(
            select(DeadLetter, Event).join(Event, Event.id == DeadLetter.event_id)).all()]


def test_a_document_with_an_stl_binary_is_fetched_and_coded(ctx, fhir_base_url, tmp_path):
    put_binary(fhir_base_url, "scan-upper", STL)
    doc = document("Binary/scan-upper")
    accept(ctx.store, feed.folder_events(case_with_document(tmp_path, doc, with_stl=False)))
    drain(ctx)
    assert _dead(ctx) == []
    with ctx.store.sessions() as s:
        assert s.scalar(select(Event.status).where(Event.kind == "fetch-attachment")) == "done"
    posted = active(FhirClient(fhir_base_url).search("ChargeItem", {}))
    assert posted == cli_items(case_with_document(tmp_path, doc, with_stl=True), PRACTICE)
    assert posted != cli_items(case_with_document(tmp_path / "x", doc, with_stl=False), PRACTICE)  # the scan counted


def test_an_attachment_url_off_the_base_is_refused_and_never_fetched(ctx, fhir_base_url, tmp_path):
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(STL)

        def log_message(self, *args):
            pass

    elsewhere = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    try:
        doc = document(f"http://127.0.0.1:{elsewhere.server_address[1]}/fhir/Binary/scan-upper")
        accept(ctx.store, [feed.fhir_event(doc)])
        drain(ctx)
    finally:
        elsewhere.shutdown()
        elsewhere.server_close()
    [(kind, reason, message)] = _dead(ctx)
    assert (kind, reason) == ("fetch-attachment", "ForeignUrl") and "outside the configured FHIR base" in message
    assert hits == []


def test_a_missing_binary_is_a_dead_letter_and_the_document_itself_is_kept(ctx, fhir_base_url):
    accept(ctx.store, [feed.fhir_event(document("Binary/not-there"))])
    drain(ctx)
    [(kind, reason, message)] = _dead(ctx)
    assert (kind, reason) == ("fetch-attachment", "EhrRefused") and "404" in message
    with ctx.store.sessions() as s:
        assert s.scalar(select(Event.status).where(Event.kind == "fhir")) == "done"


def test_a_repeated_notification_fetches_once(ctx, fhir_base_url):
    put_binary(fhir_base_url, "scan-upper", STL)
    doc = document("Binary/scan-upper")
    accept(ctx.store, [feed.fhir_event(doc), _again(feed.fhir_event(doc))])   # the same version, redelivered
    drain(ctx)
    with ctx.store.sessions() as s:
        kinds = list(s.scalars(select(Event.kind).order_by(Event.id)))
    assert kinds.count("fetch-attachment") == 1 and kinds.count("fhir") == 2


def _again(event):
    from dataclasses import replace

    return replace(event, dedup_key=event.dedup_key + "#again")
