"""The service's routes: the ONE table. The app (app.py), /openapi.json (openapi.py) and docs/routes.md
are all made from it, so they cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from plugin.web.charge_items import read_charge_item, search_charge_items
from plugin.web.notify import receive_notification
from plugin.web.openapi import openapi_document
from plugin.web.ops import metrics, readyz
from plugin.web.scanner import unmatched_files
from plugin.web.pacs import receive_pacs_study
from plugin.web.status import healthz
from plugin.web.webhook import receive_webhook

FHIR = ("application/fhir+json", "application/json")
WEBHOOK_BODIES = FHIR + ("application/dicom+json", "application/dicom", "model/stl", "model/ply", "application/sla",
                         "application/octet-stream")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: object
    summary: str
    answers: dict[int, str]
    accepts: tuple[str, ...] = ()
    headers: tuple[str, ...] = field(default=())


ROUTES = (
    Route("POST", "/subscriptions/{subscription_id}", receive_notification,
          "FHIR Subscription notification (R4/R4B backport, R5 rest-hook), or a plain resource / Bundle",
          {200: "handshake, heartbeat or query-status noted; or every event seen before",
           202: "events stored and queued", 400: "not JSON", 401: "unknown subscription or wrong channel header",
           413: "body over the limit", 415: "not FHIR JSON", 422: "invalid FHIR; reference outside the FHIR base",
           429: "too many requests (Retry-After)", 503: "database unavailable (Retry-After)"},
          accepts=FHIR, headers=("the Subscription's channel.header, e.g. Authorization",)),
    Route("POST", "/webhooks/{source}", receive_webhook,
          "Standard Webhooks 1.0: FHIR JSON, DICOM JSON, DICOM Part 10, STL or PLY",
          {200: "webhook-id seen before (not queued again)", 202: "event stored and queued",
           400: "not JSON", 401: "unknown source, bad or stale signature", 413: "body over the limit",
           415: "unsupported media type", 422: "invalid FHIR / DICOM JSON / file",
           429: "too many requests (Retry-After)", 503: "database unavailable (Retry-After)"},
          accepts=WEBHOOK_BODIES, headers=("webhook-id", "webhook-timestamp", "webhook-signature")),
    Route("GET", "/fhir/ChargeItem", search_charge_items,
          "embedded ChargeItem store: search by identifier, status, _count",
          {200: "searchset Bundle", 400: "unknown search parameter", 503: "database unavailable"}),
    Route("GET", "/fhir/ChargeItem/{id}", read_charge_item, "embedded ChargeItem store: read by id",
          {200: "the ChargeItem", 404: "no such ChargeItem", 503: "database unavailable"}),
    Route("GET", "/healthz", healthz, "liveness: the process answers (nothing else is checked)", {200: "up"}),
    # issue 11: readiness and metrics
    Route("GET", "/readyz", readyz, "readiness: database, Redis and FHIR server, each with a short timeout; "
          "`?ignore=fhir` reports a check without failing on it",
          {200: "ready (each check: ok or embedded)", 503: "unready: names each check that is down, by error class"}),
    Route("GET", "/metrics", metrics, "Prometheus metrics, read from the database at scrape time (docs/runbook.md)",
          {200: "text exposition format"}),
    Route("GET", "/openapi.json", openapi_document, "this API as OpenAPI 3.1", {200: "the document"}),
    Route("POST", "/pacs/{name}/stable-study", receive_pacs_study,
          "a PACS's study became stable (Standard Webhooks signature; Orthanc: deploy/orthanc/notify.lua)",
          {200: "this study version was seen before", 202: "event stored and queued", 400: "not JSON",
           401: "unknown PACS, bad or stale signature", 413: "body over 16 KiB", 415: "not application/json",
           422: "no valid StudyInstanceUID", 429: "too many requests (Retry-After)",
           503: "database unavailable (Retry-After)"},
          accepts=("application/json",), headers=("webhook-id", "webhook-timestamp", "webhook-signature")),
    Route("GET", "/scanner/unmatched", unmatched_files,
          "scanner exports held because they cannot be linked to one patient, with the reason (docs/scanners.md)",
          {200: "JSON: {\"unmatched\": [{folder, path, size, sha256, kind, reason, since}]}", 503: "database unavailable"}),
)


def routes_markdown() -> str:
    """The routes as a Markdown table (docs/routes.md, the README's contents page of the service)."""
    lines = ["| method | path | what | answers |", "| --- | --- | --- | --- |"]
    for route in ROUTES:
        answers = ", ".join(str(code) for code in route.answers)
        lines.append(f"| {route.method} | `{route.path}` | {route.summary} | {answers} |")
    return "\n".join(lines) + "\n"


README_MARKERS = ("<!-- routes:start -->\n", "<!-- routes:end -->")


def with_routes(readme: str) -> str:
    """The README with the route table written between its markers (`python -m plugin.web.routes` rewrites it)."""
    start, end = README_MARKERS
    head, rest = readme.split(start, 1)
    return head + start + routes_markdown() + end + rest.split(end, 1)[1]


if __name__ == "__main__":  # rewrite docs/routes.md and the README's table from ROUTES
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    (root / "docs" / "routes.md").write_text(routes_markdown())
    (root / "README.md").write_text(with_routes((root / "README.md").read_text()))
