"""The service's routes: the ONE table. The app (app.py), /openapi.json (openapi.py) and docs/routes.md
are all made from it, so they cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from plugin.web.auth import require
from plugin.web.auth.pages import login_form, login_submit, logout, oidc_callback, oidc_start
from plugin.web.cds import call_service, discovery, receive_feedback
from plugin.web.charge_items import read_charge_item, search_charge_items
from plugin.web.notify import receive_notification
from plugin.web.openapi import openapi_document
from plugin.web.ops import metrics, readyz
from plugin.web.scanner import unmatched_files
from plugin.web.pacs import receive_pacs_study
from plugin.web.review import pages as review
from plugin.web.review.render import static_file
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
    access: str = ""    # issue 9: who may call it: plugin.web.auth.require("public" | "signed" | "cds-jwt" | "reviewer" | "admin")


ROUTES = (
    Route("POST", "/subscriptions/{subscription_id}", receive_notification,
          "FHIR Subscription notification (R4/R4B backport, R5 rest-hook), or a plain resource / Bundle",
          {200: "handshake, heartbeat or query-status noted; or every event seen before",
           202: "events stored and queued", 400: "not JSON", 401: "unknown subscription or wrong channel header",
           413: "body over the limit", 415: "not FHIR JSON", 422: "invalid FHIR; reference outside the FHIR base",
           429: "too many requests (Retry-After)", 503: "database unavailable (Retry-After)"},
          accepts=FHIR, headers=("the Subscription's channel.header, e.g. Authorization",), access=require("signed")),
    Route("POST", "/webhooks/{source}", receive_webhook,
          "Standard Webhooks 1.0: FHIR JSON, DICOM JSON, DICOM Part 10, STL or PLY",
          {200: "webhook-id seen before (not queued again)", 202: "event stored and queued",
           400: "not JSON", 401: "unknown source, bad or stale signature", 413: "body over the limit",
           415: "unsupported media type", 422: "invalid FHIR / DICOM JSON / file",
           429: "too many requests (Retry-After)", 503: "database unavailable (Retry-After)"},
          accepts=WEBHOOK_BODIES, headers=("webhook-id", "webhook-timestamp", "webhook-signature"), access=require("signed")),
    Route("GET", "/fhir/ChargeItem", search_charge_items,
          "embedded ChargeItem store: search by identifier, status, _count",
          {200: "searchset Bundle", 400: "unknown search parameter", 401: "not signed in",
           403: "not a deployment admin (role admin, practice *)", 503: "database unavailable"}, access=require("admin")),
    Route("GET", "/fhir/ChargeItem/{id}", read_charge_item, "embedded ChargeItem store: read by id",
          {200: "the ChargeItem", 401: "not signed in", 403: "not a deployment admin (role admin, practice *)",
           404: "no such ChargeItem", 503: "database unavailable"}, access=require("admin")),
    Route("GET", "/healthz", healthz, "liveness: the process answers (nothing else is checked)", {200: "up"},
          access=require("public")),
    # issue 9: sign-in
    Route("GET", "/login", login_form, "the sign-in page (password form and/or the OpenID Connect button)",
          {200: "the page"}, access=require("public")),
    Route("POST", "/login", login_submit, "sign in with a username and password (form, with the page's token)",
          {303: "signed in: to `next`", 400: "bad form", 401: "wrong username or password", 403: "bad form token",
           429: "too many failed sign-ins (Retry-After)"}, accepts=("application/x-www-form-urlencoded",),
          access=require("public")),
    Route("GET", "/login/oidc", oidc_start, "sign in with the OpenID Connect provider (redirects there)",
          {303: "to the provider", 404: "OpenID Connect not configured", 503: "provider unreachable"},
          access=require("public")),
    Route("GET", "/login/oidc/callback", oidc_callback, "the OpenID Connect provider's answer (authorization code)",
          {303: "signed in: to `next`", 400: "bad or replayed answer", 403: "no role or practice in the claims",
           404: "OpenID Connect not configured", 503: "provider unreachable"}, access=require("public")),
    Route("POST", "/logout", logout, "sign out (ends the session)",
          {303: "to /login", 401: "not signed in", 403: "missing or wrong CSRF token"},
          accepts=("application/x-www-form-urlencoded",), access=require("reviewer")),
    Route("GET", "/openapi.json", openapi_document, "this API as OpenAPI 3.1", {200: "the document"}, access=require("public")),
    # issue 10: CDS Hooks 2.0 (every call carries the EHR's signed JWT: plugin/cds/trust.py)
    Route("GET", "/cds-services", discovery, "CDS Hooks discovery: the services, their hooks and prefetch templates",
          {200: "the services", 401: "no, bad, expired, replayed or wrongly addressed JWT; unknown issuer",
           503: "database unavailable"}, headers=("authorization",), access=require("cds-jwt")),
    Route("POST", "/cds-services/{service_id}", call_service,
          "CDS Hooks call (encounter-discharge, order-sign, appointment-book): charge-capture cards",
          {200: "the cards", 400: "not a request of this hook", 401: "no, bad, expired, replayed or wrongly "
           "addressed JWT; unknown issuer", 404: "no such service", 412: "no data: no prefetch and no usable fhirServer",
           413: "body over the limit", 415: "not JSON", 503: "database unavailable"},
          accepts=("application/json",), headers=("authorization",), access=require("cds-jwt")),
    Route("POST", "/cds-services/{service_id}/feedback", receive_feedback,
          "CDS Hooks feedback: accepted / overridden cards become the reviewer queue's decisions (via cds)",
          {200: "each item's result", 400: "not a feedback request", 401: "no, bad, expired, replayed or wrongly "
           "addressed JWT; unknown issuer", 404: "no such service", 413: "body over the limit", 415: "not JSON",
           501: "reviewer queue not installed", 503: "database unavailable"},
          accepts=("application/json",), headers=("authorization",), access=require("cds-jwt")),
    # issue 9: the reviewer queue (server-rendered pages; POSTs carry the page's CSRF token)
    Route("GET", "/review", review.queue_page,
          "reviewer queue: cases awaiting review, oldest first; filters status, claim, payer, date_from, date_to, code, "
          "rule, notice; counts per status; keyset pages (after)", {200: "the page", 303: "not signed in: to /login", 401: "not signed in (API)", 403: "not a reviewer"},
          access=require("reviewer")),
    Route("GET", "/review/cases/{case_id}", review.case_page,
          "a case: its lines with reason, evidence, documentation present/missing, notices, alternatives; decisions",
          {200: "the page", 303: "not signed in: to /login", 401: "not signed in (API)", 403: "not a reviewer", 404: "no such case (or another practice's)"},
          access=require("reviewer")),
    Route("GET", "/review/cases/{case_id}/explain", review.explain_page,
          "the engine's explanation of a case (steps, facts, each rule that could have applied)",
          {200: "the page (a fragment for htmx)", 303: "not signed in: to /login", 401: "not signed in (API)", 403: "not a reviewer", 404: "no such case (or another practice's)"}, access=require("reviewer")),
    Route("POST", "/review/lines/{identifier}", review.decide_line,
          "decide a line: action approve | reject (reason_code, reason_text) | edit (code, modifiers, quantity) | "
          "add (a new line in this line's case); version = the version the reviewer saw",
          {303: "decided: back to the case", 401: "not signed in", 403: "not a reviewer, or a bad form token", 404: "no such line (or another practice's)",
           409: "the line changed since it was shown (nothing written)", 422: "refused: unknown code, impossible "
           "modifier, no listed reason", 503: "the EHR did not answer (nothing written)"},
          accepts=("application/x-www-form-urlencoded",), access=require("reviewer")),
    Route("POST", "/review/cases/{case_id}/approve-all", review.approve_all, "approve every open line of a case",
          {303: "decided: back to the case", 401: "not signed in", 403: "not a reviewer, or a bad form token", 404: "no such case (or another practice's)",
           409: "a line changed since it was shown (nothing written)", 422: "refused", 503: "the EHR did not answer (nothing written)"},
          accepts=("application/x-www-form-urlencoded",), access=require("reviewer")),
    Route("GET", "/review/metrics", review.metrics_page,
          "acceptance per rule and per code, edits per rule, time to review, suggestions per day (SVG plots)",
          {200: "the page", 303: "not signed in: to /login", 401: "not signed in (API)", 403: "not a reviewer"}, access=require("reviewer")),
    Route("GET", "/review/metrics.csv", review.metrics_csv, "the metrics page's numbers as CSV", {200: "text/csv", 303: "not signed in: to /login", 401: "not signed in (API)", 403: "not a reviewer"},
          access=require("reviewer")),
    Route("GET", "/review/audit", review.audit_page, "the audit log of decisions, newest first (before = keyset)",
          {200: "the page", 303: "not signed in: to /login", 401: "not signed in (API)", 403: "not a reviewer"}, access=require("reviewer")),
    Route("GET", "/static/{name}", static_file, "the pages' script and style (htmx vendored, no CDN)",
          {200: "the file", 404: "no such file"}, access=require("public")),
    # issue 11: readiness and metrics
    Route("GET", "/readyz", readyz, "readiness: database, Redis and FHIR server, each with a short timeout; "
          "`?ignore=fhir` reports a check without failing on it",
          {200: "ready (each check: ok or embedded)", 503: "unready: names each check that is down, by error class"},
          access=require("public")),
    Route("GET", "/metrics", metrics, "Prometheus metrics, read from the database at scrape time (docs/runbook.md)",
          {200: "text exposition format"}, access=require("public")),
    Route("POST", "/pacs/{name}/stable-study", receive_pacs_study,
          "a PACS's study became stable (Standard Webhooks signature; Orthanc: deploy/orthanc/notify.lua)",
          {200: "this study version was seen before", 202: "event stored and queued", 400: "not JSON",
           401: "unknown PACS, bad or stale signature", 413: "body over 16 KiB", 415: "not application/json",
           422: "no valid StudyInstanceUID", 429: "too many requests (Retry-After)",
           503: "database unavailable (Retry-After)"},
          accepts=("application/json",), headers=("webhook-id", "webhook-timestamp", "webhook-signature"),
          access=require("signed")),
    Route("GET", "/scanner/unmatched", unmatched_files,
          "scanner exports held because they cannot be linked to one patient, with the reason (docs/scanners.md)",
          {200: "JSON: {\"unmatched\": [{folder, path, size, sha256, kind, reason, since}]}", 401: "not signed in",
           403: "not a deployment admin (role admin, practice *)", 503: "database unavailable"}, access=require("admin")),
)


def routes_markdown() -> str:
    """The routes as a Markdown table (docs/routes.md, the README's contents page of the service)."""
    lines = ["| method | path | what | access | answers |", "| --- | --- | --- | --- | --- |"]
    for route in ROUTES:
        answers = ", ".join(str(code) for code in route.answers)
        lines.append(f"| {route.method} | `{route.path}` | {route.summary} | {route.access} | {answers} |")
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
