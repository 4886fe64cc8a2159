"""Structured JSON logs (plugin/logs.py): one PHI-bearing case sent as signed webhooks through the real app and the
pipeline's functions, with every log line captured at DEBUG: each line is a JSON object, the correlation id of
one webhook follows its event from the HTTP line to the recomputation that wrote the ChargeItems, and no line
(nor /metrics, nor /readyz) holds the patient's name, identifiers, phone, address or birth date."""
from __future__ import annotations

import io
import json
import logging

from plugin import feed, logs, pipeline
from plugin.store import Store
from tests.commands import phi_case
from tests.web.conftest import Service
from tests.store.databases import database_url, postgres_url  # noqa: F401  (fixtures)
from tests.web.test_ops import _settings


def test_a_phi_case_leaves_no_patient_data_in_any_log_line_and_one_id_follows_each_event(tmp_path, database_url):
    stream = io.StringIO()
    logger = logs.setup("DEBUG", stream)
    handler = next(h for h in logger.handlers if getattr(h, "_dwcoder", False))
    saved = handler.stream
    handler.setStream(stream)
    settings = _settings(tmp_path, database_url)
    store = Store.from_settings(settings)
    try:
        service = Service(settings, store)
        cids = []
        for i, event in enumerate(feed.folder_events(phi_case.make(tmp_path))):
            r = service.webhook("lab", event.body, content_type=event.content_type, msg_id=f"phi_{i}")
            assert r.status_code == 202, r.text
            cids.append(r.json()["correlationId"])
        from tests.pipeline.runner import drain

        drain(pipeline.Context(settings, store))
        exposed = service.request("GET", "/metrics").text + service.request("GET", "/readyz").text
    finally:
        store.dispose()
        handler.setStream(saved)
        logger.setLevel(logging.INFO)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]  # each line is JSON
    assert lines
    text = stream.getvalue() + exposed
    leaked = [phi for phi in phi_case.PHI if phi in text]
    assert not leaked, leaked
    by_cid: dict[str, set[str]] = {}
    for line in lines:
        if line.get("correlation_id"):
            by_cid.setdefault(line["correlation_id"], set()).add(line["msg"].split(" ")[0] if line["msg"].startswith("POST") else line["msg"])
    assert all("POST" in by_cid.get(cid, set()) and "event processed" in by_cid[cid] for cid in cids)
    recomputed = [cid for cid in cids if "case recomputed" in by_cid[cid]]
    assert recomputed, "no recomputation carried the correlation id of the webhook that caused it"
