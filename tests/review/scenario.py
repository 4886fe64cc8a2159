"""The reviewer tests' case: the contract's implant-posterior-mandible example sent through the pipeline (its
readers, store and recomputation), with the ChargeItems posted to the EHR (the real FHIR test server or the
embedded store). Helpers read the queue's lines, the audit log and the ChargeItems back."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import httpx
from sqlalchemy import select

from plugin import feed, pipeline
from plugin.store import Store
from plugin.store import chargeitems as local_items
from plugin.store.review import ReviewAudit, ReviewCase, ReviewLine
from tests.pipeline.runner import CONTRACT, drain, send_direct
from tests.store.databases import empty, settings_for

CASE = CONTRACT / "implant-posterior-mandible"
PRACTICE = "http://hl7.org/fhir/sid/us-npi|1407062834"
LINE_SYSTEM = "https://dwcoder.org/fhir/sid/charge-line"


def make_ctx(database_url: str, home: Path, fhir_base_url: str = "", **extra) -> pipeline.Context:
    env = {"DWCODER_PRACTICE": PRACTICE, **extra}
    if fhir_base_url:
        env["FHIR_BASE_URL"] = fhir_base_url
    ctx = pipeline.Context(settings_for(database_url, home, **env), Store(database_url))
    empty(ctx.store)
    return ctx


def send_case(ctx, folder: Path = CASE) -> None:
    send_direct(ctx, feed.folder_events(folder))
    drain(ctx)


def lines(ctx) -> dict[str, ReviewLine]:
    """The queue's lines by code (the example has one line per code)."""
    with ctx.store.sessions() as s:
        return {row.code: row for row in s.scalars(select(ReviewLine).order_by(ReviewLine.code))}


def line(ctx, identifier: str) -> ReviewLine:
    with ctx.store.sessions() as s:
        return s.get(ReviewLine, identifier)


def cases(ctx) -> list[ReviewCase]:
    with ctx.store.sessions() as s:
        return list(s.scalars(select(ReviewCase).order_by(ReviewCase.id)))


def audit(ctx) -> list[ReviewAudit]:
    with ctx.store.sessions() as s:
        return list(s.scalars(select(ReviewAudit).order_by(ReviewAudit.id)))


def charge_item(ctx, identifier: str) -> dict:
    """The ChargeItem with this charge-line identifier, read back from where the pipeline posted it."""
    if ctx.settings.embedded_ehr:
        found = local_items.search(ctx.store, f"{LINE_SYSTEM}|{identifier}")
    else:
        answer = httpx.get(f"{ctx.settings.fhir_base_url}/ChargeItem", params={"identifier": f"{LINE_SYSTEM}|{identifier}"},
                           timeout=10)
        answer.raise_for_status()
        found = [e["resource"] for e in answer.json().get("entry") or []]
    assert len(found) == 1, f"{len(found)} ChargeItems for one charge line"
    return found[0]


def provenance_targets(ctx) -> list[str]:
    answer = httpx.get(f"{ctx.settings.fhir_base_url}/Provenance", params={"_count": "500"}, timeout=10)
    answer.raise_for_status()
    return [t["reference"] for e in answer.json().get("entry") or [] for t in e["resource"].get("target") or []]


def code_of(item: dict) -> str:
    return item["code"]["coding"][0]["code"]


def procedure_without_note() -> dict:
    """The case's Procedure again (version 2) with its note gone: the documentation D0393 needs goes missing."""
    bundle = json.loads((CASE / "bundle.json").read_text())
    proc = next(copy.deepcopy(e["resource"]) for e in bundle["entry"] if e["resource"]["resourceType"] == "Procedure")
    proc["meta"] = {"versionId": "2"}
    proc.pop("note", None)
    return proc


def send_resource(ctx, resource: dict) -> None:
    send_direct(ctx, [feed.fhir_event(resource)])
    drain(ctx)
