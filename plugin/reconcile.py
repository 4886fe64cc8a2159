"""The reconciler (issue 8): notifications are hints, not the truth. Plain functions; Celery beat runs
`reconcile` every DWCODER_RECONCILE_EVERY_S, `dwcoder reconcile [--since ISO]` runs it once, and a subscription
gap or a missed heartbeat (a "requery" event) queues a run of the PACS part.

    Orthanc (PACS setting "orthanc")   walk GET /changes from the saved sequence number; each StableStudy change is
                                       a "pacs-study" event with the study's LastUpdate as version
    any other DICOMweb PACS            QIDO-RS /studies by StudyDate from the last run's day to today; version
                                       "n<NumberOfStudyRelatedInstances>"
    the FHIR server (FHIR_BASE_URL)    one "requery" event: the types the rules read, _lastUpdated since the last
                                       run (less a minute of overlap)

Events get the same dedup keys as the notifications (plugin.sources.pacs.study_key), so a study both notified
and reconciled is one event, and a second run queues nothing new. Positions are saved (table reconcile_state)
only after the events are stored: a run that fails half-way is repeated, never skipped.
"""
from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx

from plugin import queue
from plugin.errors import PacsUnavailable
from plugin.logs import log
from plugin.sources import pacs
from plugin.store.events import EventIn, accept
from plugin.store.reconcile import get_position, set_position

FHIR_TYPES = ("Patient", "Encounter", "Procedure", "ImagingStudy")  # what the rules read from the EHR
OVERLAP = timedelta(minutes=1)
PAGE = 200
MAX_PAGES = 500  # bounded: 100,000 changes per run; the next run continues from the saved position


def reconcile(ctx, since: datetime | None = None, fhir: bool = True) -> dict[str, int]:
    """Queue what the plugin has not seen; returns {"queued": n, "duplicates": n} over every source."""
    counts = {"queued": 0, "duplicates": 0}
    failed: list[PacsUnavailable] = []
    for config in (ctx.settings.pacs or {}).values():
        try:  # one PACS that cannot answer does not stop the others; it is tried again next run
            events, save = orthanc_changes(ctx, config, since) if config.orthanc else qido_window(ctx, config, since)
        except PacsUnavailable as exc:
            log("reconcile: PACS not reachable", logging.WARNING, pacs=config.name, reason=str(exc))
            failed.append(exc)
            continue
        _queue(ctx, events, counts, save)
    if fhir and ctx.settings.fhir_base_url:
        events, save = fhir_requery(ctx, since)
        _queue(ctx, events, counts, save)
    log("reconciled", **counts)
    if failed:
        raise failed[0]
    return counts


def _queue(ctx, events: list[EventIn], counts: dict[str, int], save: tuple[str, str] | None) -> None:
    accepted = accept(ctx.store, events) if events else []
    for item in accepted:
        if item.duplicate:
            counts["duplicates"] += 1
        else:
            counts["queued"] += 1
            queue.enqueue(ctx.settings, queue.TASK_PROCESS_EVENT, item.event_id)
    if save is not None:
        with ctx.store.transaction() as s:
            set_position(s, *save)


def _position(ctx, source: str) -> str:
    with ctx.store.sessions() as s:
        return get_position(s, source)


# ---------------------------------------------------------------------- Orthanc /changes
def orthanc_changes(ctx, config: pacs.PacsConfig, since: datetime | None) -> tuple[list[EventIn], tuple[str, str]]:
    """Events for the StableStudy changes after the saved position (from the start, filtered by date, with
    `since`), and the position to save."""
    source = f"orthanc:{config.name}"
    seq = 0 if since is not None else int(_position(ctx, source) or 0)
    stamp = since.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S") if since else ""
    events: list[EventIn] = []
    with _http(config) as http:
        for _ in range(MAX_PAGES):
            page = _get(http, f"{config.orthanc}/changes", "Orthanc /changes", {"since": seq, "limit": PAGE})
            for change in page.get("Changes", []):
                if change.get("ChangeType") == "StableStudy" and str(change.get("Date", "")) >= stamp:
                    found = _orthanc_study(http, config, str(change.get("ID", "")))
                    if found is not None:
                        events.append(found)
            seq = int(page.get("Last", seq))
            if page.get("Done", True):
                break
    return events, (source, str(seq))


def _orthanc_study(http: httpx.Client, config: pacs.PacsConfig, study_id: str) -> EventIn | None:
    study = _get(http, f"{config.orthanc}/studies/{study_id}", "Orthanc study", missing_ok=True)
    uid = (study.get("MainDicomTags") or {}).get("StudyInstanceUID", "")
    if not uid:  # deleted since
        return None
    version = str(study.get("LastUpdate", ""))
    aet = ""
    series = study.get("Series") or []
    if series:
        one = _get(http, f"{config.orthanc}/series/{series[0]}", "Orthanc series", missing_ok=True)
        instances = one.get("Instances") or []
        if instances:
            aet = _text(http, f"{config.orthanc}/instances/{instances[0]}/metadata/RemoteAET")
    return _event(config, uid, version, aet)


# ---------------------------------------------------------------------- any DICOMweb PACS: QIDO by date
def qido_window(ctx, config: pacs.PacsConfig, since: datetime | None) -> tuple[list[EventIn], tuple[str, str]]:
    from plugin.dicomweb import DicomWeb, value

    source = f"qido:{config.name}"
    started = datetime.now(timezone.utc)
    last = since or _instant(_position(ctx, source)) or started - timedelta(days=1)
    first_day = (last - OVERLAP).date()
    window = f"{first_day:%Y%m%d}-{date.today():%Y%m%d}"
    with DicomWeb(config.dicomweb, config.credentials, config.timeout_s) as client:
        found = client.studies([("StudyDate", window), ("includefield", "00201208"), ("limit", "1000")])
    events = [_event(config, value(s, "0020000D"), "n" + (value(s, "00201208") or "0"), "")
              for s in found if value(s, "0020000D")]
    return events, (source, started.isoformat())


# ---------------------------------------------------------------------- the FHIR server
def fhir_requery(ctx, since: datetime | None) -> tuple[list[EventIn], tuple[str, str]]:
    started = datetime.now(timezone.utc)
    last = since or _instant(_position(ctx, "fhir"))
    frm = (last - OVERLAP).isoformat() if last else None
    body = json.dumps({"types": list(FHIR_TYPES), "since": frm}, sort_keys=True).encode()
    event = EventIn("reconcile", "requery", f"reconcile:fhir:{frm or 'all'}:{started:%Y%m%dT%H%M}", "application/json", body)
    return [event], ("fhir", started.isoformat())


# ---------------------------------------------------------------------- helpers
def _event(config: pacs.PacsConfig, study: str, version: str, aet: str) -> EventIn:
    return EventIn(f"pacs:{config.name}", "pacs-study", pacs.study_key(config.name, study, version),
                   "application/json", pacs.event_body(config.name, study, version, aet), "reconcile")


def _http(config: pacs.PacsConfig) -> httpx.Client:
    creds = config.credentials
    auth = httpx.BasicAuth(creds[1], creds[2]) if creds and creds[0] == "basic" else None
    headers = {"Authorization": f"Bearer {creds[1]}"} if creds and creds[0] == "bearer" else {}
    return httpx.Client(timeout=config.timeout_s, auth=auth, headers=headers, follow_redirects=False)


def _get(http: httpx.Client, url: str, what: str, params: Any = None, missing_ok: bool = False) -> dict:
    try:
        response = http.get(url, params=params)
    except httpx.HTTPError as exc:
        raise PacsUnavailable(f"{what}: cannot reach the PACS ({type(exc).__name__})") from None
    if response.status_code == 404 and missing_ok:
        return {}
    if response.status_code != 200:
        raise PacsUnavailable(f"{what}: the PACS answered {response.status_code}", response.status_code)
    data = response.json()
    return data if isinstance(data, dict) else {}


def _text(http: httpx.Client, url: str) -> str:
    try:
        response = http.get(url)
    except httpx.HTTPError:
        return ""
    return response.text.strip() if response.status_code == 200 else ""


def _instant(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
