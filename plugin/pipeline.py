"""The pipeline's work, as plain functions the Celery tasks (workers/) and the local queue call with ids.

    process_event(ctx, event_id)   parse a stored event with the engine's readers, keep the evidence of each
                                   case group (latest version), mark the groups it changed dirty, queue their
                                   recomputation. Unusable -> dead letter with the reason. Idempotent.
    recompute_case(ctx, case_key)  once the group's burst of events has settled, under the group's lock:
                                   assemble + code with the SAME code as `dwcoder suggest` (plugin.coding),
                                   upsert each ChargeItem, withdraw (entered-in-error) what is no longer
                                   suggested, leave alone what someone moved on (flag the case for review),
                                   record a Provenance and the posting history.
    sweep(ctx)                     queue again events not finished in time and dirty groups left waiting, so a
                                   Redis that restarts empty loses nothing; dead-letter events out of attempts.

Retry policy: `EhrUnavailable` (FHIR server down, 5xx, 429, timeout) propagates for the caller to retry with
`backoff_s`; everything else that makes an event unusable is a dead letter at once.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import random
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from plugin import queue
from plugin.errors import InputError, PipelineError, Unprocessable
from plugin.evidence import dicom, stl
from plugin.evidence.files import read_json_data
from plugin.evidence.model import DicomSeries, FhirResource, ReadResult, SurfaceMesh
from plugin.logs import case_hash, elapsed_ms, log
from plugin.settings import Settings
from plugin.store import Store
from plugin.store import evidence as ev_store
from plugin.store.cases import aware, dirty_cases, lock, mark_dirty, quiet_for
from plugin.store import latency
from plugin.ehr.chargeitems import Upsert
from plugin.store.chargeitems import LocalEhr
from plugin.store.models import Case, DeadLetter, Event, Posting, Suggestion

DEVICE = "digital-workflow-coder"
LINE_SYSTEM = "https://dwcoder.org/fhir/sid/charge-line"


from plugin.context import Context, context  # noqa: F401  (callers import them from here too)


def backoff_s(attempt: int, base: float = 1.0, cap: float = 60.0) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt)), at least 0.1 s."""
    return max(0.1, random.uniform(0, min(cap, base * (2 ** max(0, attempt)))))


# ============================================================================ process_event
def process_event(ctx: Context, event_id: int) -> str:
    """Returns "done", "dead", "missing" or the status it already had ("done" / "dead")."""
    start = time.perf_counter()
    claimed = _claim(ctx, event_id)
    if claimed is None:
        return "missing"
    if isinstance(claimed, str):
        return claimed
    kind, body, content_type, correlation, received_at = claimed
    fields = {"event_id": event_id, "correlation_id": correlation, "kind": kind}
    at_once = (correlation, received_at) if ctx.settings.settle_s == 0 else None  # no burst to wait for
    try:
        parsed = parse(ctx, event_id, kind, body, content_type)
        groups, inline = _store_parsed(ctx, event_id, parsed, correlation, at_once)
    except Unprocessable as exc:
        dead_letter(ctx, event_id, exc.reason, str(exc))
        log("event dead-lettered", logging.WARNING, reason=exc.reason, **fields)
        return "dead"
    except PipelineError as exc:  # EhrUnavailable and the like: back to queued; the caller retries
        _release(ctx, event_id, type(exc).__name__)
        log("event will be retried", logging.WARNING, reason=type(exc).__name__, **fields)
        raise
    for follow_up in parsed.queued:  # issue 8: attachments to fetch (stored with the event: the sweeper has them too)
        queue.enqueue(ctx.settings, queue.TASK_PROCESS_EVENT, follow_up)
    for group in sorted(groups - ({inline.case_key} if inline else set())):
        queue.enqueue(ctx.settings, queue.TASK_RECOMPUTE_CASE, group, countdown=ctx.settings.settle_s)
    if inline:
        _after_inline(ctx, inline, start)
    if kind == "requery" and ctx.settings.pacs:  # issue 8: a gap in the FHIR feed: check the PACS too
        queue.enqueue(ctx.settings, queue.TASK_RECONCILE, "pacs")
    log("event processed", groups=len(groups), evidence=len(parsed.items), problems=len(parsed.problems),
        ms=elapsed_ms(start), **fields)
    return "done"


def _claim(ctx: Context, event_id: int):
    """Mark the event processing and count the attempt, in one statement (committed before the work starts,
    so a worker killed mid-task still counts); the status it already had when it is done, dead or missing."""
    with ctx.store.transaction() as s:
        got = s.execute(update(Event).where(Event.id == event_id, Event.status.in_(("queued", "processing")),
                                            Event.attempts < ctx.settings.max_attempts)
                        .values(attempts=Event.attempts + 1, status="processing", started_at=datetime.now(timezone.utc))
                        .returning(Event.kind, Event.body, Event.content_type, Event.correlation_id, Event.received_at)
                        .execution_options(synchronize_session=False)).first()  # rows, not loaded Events
        if got is not None:
            return tuple(got)
        row = s.get(Event, event_id, with_for_update=True)
        if row is None:
            return None
        if row.status in ("done", "dead"):
            return row.status
        out_of = f"gave up after {row.attempts} attempts (last: {row.last_error or 'worker lost'})"
        _dead_in(s, row, "TooManyAttempts", out_of)
        return "dead"


def _release(ctx: Context, event_id: int, reason: str) -> None:
    with ctx.store.transaction() as s:
        s.execute(update(Event).where(Event.id == event_id, Event.status == "processing")
                  .values(status="queued", last_error=reason[:500]).execution_options(synchronize_session=False))


def dead_letter(ctx: Context, event_id: int, reason: str, message: str) -> None:
    with ctx.store.transaction() as s:
        row = s.get(Event, event_id, with_for_update=True)
        if row is not None and row.status != "done":
            _dead_in(s, row, reason, message)


def _dead_in(s, row: Event, reason: str, message: str) -> None:
    row.status, row.last_error, row.finished_at = "dead", reason[:500], datetime.now(timezone.utc)
    letter = s.scalar(select(DeadLetter).where(DeadLetter.event_id == row.id))
    if letter is None:
        s.add(DeadLetter(event_id=row.id, reason=reason[:100], message=message[:4000]))
    else:
        letter.reason, letter.message, letter.replayed_at = reason[:100], message[:4000], None


# ---------------------------------------------------------------------------- parsing
@dataclass
class Parsed:
    """What one event holds: FHIR resources, DICOM instances (key, kind, patient id, study uid, series uid,
    bytes), meshes."""

    items: list[FhirResource] = field(default_factory=list)
    instances: list[tuple[str, str, str, str, str, bytes]] = field(default_factory=list)
    meshes: list[tuple[SurfaceMesh, dict[str, str]]] = field(default_factory=list)
    problems: list[Any] = field(default_factory=list)
    follow_ups: list[tuple[str, bytes]] = field(default_factory=list)  # issue 8: ("fetch-attachment" key, body)
    queued: list[int] = field(default_factory=list)  # ids of the follow-up events stored with this one

    @property
    def empty(self) -> bool:
        return not (self.items or self.instances or self.meshes)


def parse(ctx: Context, event_id: int, kind: str, body: bytes, content_type: str) -> Parsed:
    """The event's evidence, read by the engine's own readers; raises Unprocessable when nothing is usable."""
    where = f"event:{event_id}"
    if kind in ("fhir", "dicom-json"):
        data = _json(body)
        parsed = _from_read(read_json_data(where, data), data)
    elif kind == "fetch-attachment":  # issue 8
        parsed = _attachment(ctx, event_id, _json(body))
    elif kind == "dicom-file":
        parsed = _dicom_file(body)
    elif kind == "mesh-file":
        parsed = _mesh_file(event_id, body, content_type)
    elif kind == "fetch":
        parsed = _fetched(ctx, where, _json(body))
    elif kind == "requery":
        parsed = _requeried(ctx, where, _json(body))
    elif kind == "pacs-study":  # issue 8
        parsed = _pacs_study(ctx, _json(body))
    else:
        raise Unprocessable(f"unknown event kind {kind!r}", "UnsupportedFile")
    if kind in ("fhir", "fetch", "requery") and ctx.settings.fhir_base_url:  # issue 8: a DocumentReference /
        from plugin.sources.attachments import fetches                         # Media holding a scan

        parsed.follow_ups = fetches(parsed.items)
    if parsed.empty and parsed.problems:
        first = parsed.problems[0]
        raise Unprocessable(f"{first.reason}: {first.message}", first.reason)
    if parsed.empty and kind not in ("fetch", "requery", "pacs-study"):
        raise Unprocessable("holds nothing the coder reads (no usable FHIR resource, DICOM dataset or mesh)", "EmptyInput")
    return parsed


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Unprocessable(f"not valid JSON ({type(exc).__name__} at position {getattr(exc, 'pos', '?')})", "MalformedJSON") from None


def _from_read(read: ReadResult, dicom_json: Any) -> Parsed:
    parsed = Parsed(problems=list(read.problems))
    parsed.items = [e for e in read.evidence if isinstance(e, FhirResource)]
    if any(isinstance(e, DicomSeries) for e in read.evidence):
        datasets = dicom_json if isinstance(dicom_json, list) else [dicom_json] if dicom_json is not None else []
        parsed.instances = [_json_instance(d) for d in datasets if _usable_dataset(d)]
    return parsed


def _usable_dataset(data: Any) -> bool:
    return not dicom.read_dicom_json(Path("event"), data).problems


def _json_instance(data: dict) -> tuple[str, str, str, str, str, bytes]:
    sop = _tag_value(data, "00080018")
    raw = json.dumps(data, sort_keys=True).encode()
    key = "Instance/" + (sop or "sha256:" + hashlib.sha256(raw).hexdigest())
    return key, "dicom-json", _tag_value(data, "00100020"), _tag_value(data, "0020000D"), _tag_value(data, "0020000E"), raw


def _tag_value(data: dict, tag: str) -> str:
    values = (data.get(tag) or data.get(tag.lower()) or {}).get("Value") or [""]
    value = values[0]
    return str(value.get("Alphabetic", "") if isinstance(value, dict) else value).strip()


def _dicom_file(body: bytes) -> Parsed:
    """Checked by the files reader as it is, then kept header-only (Pixel Data is never needed for coding)."""
    with tempfile.TemporaryDirectory(prefix="dwcoder-event-") as tmp:
        path = Path(tmp, "instance.dcm")
        path.write_bytes(body)
        read = dicom.read_dicom_files([path])
        if read.problems or not read.evidence:
            return Parsed(problems=read.problems or [_problem("InvalidDicom", "not a DICOM Part 10 file")])
        series = read.evidence[0]
        import pydicom

        ds = pydicom.dcmread(path, stop_before_pixels=True)
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
    sop = str(ds.get("SOPInstanceUID", "")) or "sha256:" + hashlib.sha256(body).hexdigest()
    return Parsed(instances=[(f"Instance/{sop}", "dicom-part10", series.patient_id, series.study_uid, series.series_uid,
                                buf.getvalue())])


_PARAM = re.compile(r';\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("([^"]*)"|[^;\s]*)')


def content_params(content_type: str) -> dict[str, str]:
    """Parameters of a content type: `model/stl; name="upper.stl"; encounter="Encounter/e1"` -> dict."""
    return {m.group(1).lower(): (m.group(3) if m.group(3) is not None else m.group(2)) for m in _PARAM.finditer(content_type)}


def _mesh_file(event_id: int, body: bytes, content_type: str) -> Parsed:
    params = content_params(content_type)
    ctype = content_type.split(";")[0].strip().lower()
    suffix = ".ply" if "ply" in ctype else ".stl"
    name = os.path.basename(params.get("name", "")).strip() or f"event-{event_id}{suffix}"
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:120]
    with tempfile.TemporaryDirectory(prefix="dwcoder-event-") as tmp:
        path = Path(tmp, name)
        path.write_bytes(body)
        try:
            mesh = stl.read_mesh(path)
        except InputError as exc:
            return Parsed(problems=[_problem(exc.reason, exc.detail)])
    from dataclasses import replace

    return Parsed(meshes=[(replace(mesh, source=name), params)])


def _problem(reason: str, message: str):
    from plugin.evidence.model import Problem

    return Problem(source="event", reason=reason, message=message)


def _fetched(ctx: Context, where: str, refs: Any) -> Parsed:
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise Unprocessable('a "fetch" event holds a JSON list of "Type/id" references', "InvalidFHIR")
    client = _client(ctx)
    parsed = Parsed()
    for ref in refs:
        resource = _ehr_call(client.read, ref)
        if resource is not None:
            part = _from_read(read_json_data(where, resource), None)
            parsed.items += part.items
            parsed.problems += part.problems
    return parsed


def _requeried(ctx: Context, where: str, spec: Any) -> Parsed:
    if not isinstance(spec, dict) or not isinstance(spec.get("types"), list):
        raise Unprocessable('a "requery" event holds {"types": [...], "since": iso or null}', "InvalidFHIR")
    client = _client(ctx)
    parsed = Parsed()
    for rtype in spec["types"]:
        params = {"_lastUpdated": f"ge{spec['since']}"} if spec.get("since") else {}
        for resource in _ehr_call(client.search, rtype, params):
            part = _from_read(read_json_data(where, resource), None)
            parsed.items += part.items
            parsed.problems += part.problems
    return parsed


def _pacs_study(ctx: Context, spec: Any) -> Parsed:
    """Issue 8: the study's headers over DICOMweb (plugin.sources.pacs), one DICOM JSON row per series; a series
    lacking what the reader needs is kept too, so the case's `skipped` list names it. A study the PACS does not
    have, or a refusal, is a dead letter; PacsUnavailable propagates (retried with backoff)."""
    from plugin.errors import PacsRefused, PacsStudyMissing
    from plugin.sources import pacs

    if not isinstance(spec, dict) or not isinstance(spec.get("study"), str) or not isinstance(spec.get("pacs"), str):
        raise Unprocessable('a "pacs-study" event holds {"pacs": name, "study": uid, "version": v}', "InvalidEvent")
    config = (ctx.settings.pacs or {}).get(spec["pacs"])
    if config is None:
        raise Unprocessable("the PACS this event names is no longer configured in PACS", "ConfigError")
    try:
        fetched = pacs.fetch_study(config, spec)
    except PacsStudyMissing as exc:
        raise Unprocessable(f"the PACS does not have this study ({exc})", "StudyNotFound") from None
    except PacsRefused as exc:
        raise Unprocessable(str(exc), "PacsRefused") from None
    if fetched.ignored:
        log("pacs study ignored", reason=fetched.ignored)
    if fetched.left_out:  # not the practice's series: not an error, nothing to keep
        log("pacs series left out", series=len(fetched.left_out), reason=fetched.left_out[0][1])
    return Parsed(instances=fetched.instances)


def _attachment(ctx: Context, event_id: int, spec: Any) -> Parsed:
    """Issue 8: an attachment of a DocumentReference / Media read from the FHIR server and read like a file.
    A URL off the base (ForeignUrl), a missing Binary or an oversized one is a dead letter; unavailability retried."""
    from plugin.sources.attachments import check_spec, file_content_type

    check_spec(spec)
    try:
        data = _ehr_call(_client(ctx).read_binary, spec["url"], ctx.settings.scanner_max_file_bytes)
    except InputError as exc:
        raise Unprocessable(str(exc), exc.reason) from None
    if spec["kind"] == "dicom-file":
        return _dicom_file(data)
    return _mesh_file(event_id, data, file_content_type(spec))


def _client(ctx: Context):
    if ctx.fhir is None:
        raise Unprocessable("reading from the FHIR server needs FHIR_BASE_URL", "ConfigError")
    return ctx.fhir


def _ehr_call(fn, *args):
    """Call the FHIR client; a refusal or a foreign URL makes the event unusable, unavailability is retried."""
    from plugin.errors import EhrRefused, ForeignUrl

    try:
        return fn(*args)
    except (EhrRefused, ForeignUrl) as exc:
        raise Unprocessable(str(exc), type(exc).__name__) from None


# ---------------------------------------------------------------------------- storing
@dataclass
class Inline:
    """A case recomputed in its event's own transaction (in a savepoint: its failure leaves the event stored)."""

    case_key: str
    outcome: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    correlation: str = ""
    error: Exception | None = None


def _store_parsed(ctx: Context, event_id: int, parsed: Parsed, correlation: str,
                  at_once: tuple[str, datetime] | None = None) -> tuple[set[str], Inline | None]:
    """Store the event's evidence and mark its groups dirty, in one transaction. `at_once` (no debounce): a single
    group is recomputed in the same transaction (one commit and one case lock less), in a savepoint."""
    for attempt in range(3):  # two workers inserting the same new evidence key at once: the loser retries
        try:
            inline = None
            with ctx.store.transaction() as s:
                groups = _store_in(s, event_id, parsed)
                parsed.queued = _store_follow_ups(s, parsed.follow_ups, correlation)
                if "" in groups:  # the practice directory changed: every case may change
                    groups.discard("")
                    groups |= set(ev_store.groups_of_directory_change(s))
                groups = {g for g in groups if g}
                for group in sorted(groups):
                    mark_dirty(s, group, correlation)
                s.execute(update(Event).where(Event.id == event_id)
                          .values(status="done", finished_at=datetime.now(timezone.utc), last_error="")
                          .execution_options(synchronize_session=False))  # the Event is not loaded here
                if at_once and len(groups) == 1:
                    inline = _recompute_savepoint(ctx, s, next(iter(groups)), at_once)
            return groups, inline
        except IntegrityError:
            if attempt == 2:
                raise
    return set(), None


def _recompute_savepoint(ctx: Context, s, case_key: str, received: tuple[str, datetime]) -> Inline:
    inline = Inline(case_key)
    try:
        with s.begin_nested():
            inline.outcome, inline.counts, inline.correlation = _recompute_locked(ctx, s, case_key, received)
    except Exception as exc:  # rolled back to the savepoint: the event's evidence is still committed
        s.info.pop(HISTORY, None)
        s.info.pop(NEW_LINES, None)
        inline.error = exc
    return inline


def _after_inline(ctx: Context, inline: Inline, start: float) -> None:
    """After the commit: log the recomputation; a transient failure is retried on its own (the event is done),
    any other is raised as recompute_case would have raised it (the case stays dirty for the sweeper)."""
    if inline.error is None:
        if inline.outcome == "recomputed":
            log("case recomputed", case_hash=case_hash(inline.case_key), correlation_id=inline.correlation,
                ms=elapsed_ms(start), **inline.counts)
        return
    if isinstance(inline.error, transient_errors()):
        queue.enqueue(ctx.settings, queue.TASK_RECOMPUTE_CASE, inline.case_key, countdown=backoff_s(0))
        return
    raise inline.error


def _store_follow_ups(s, follow_ups: list[tuple[str, bytes]], correlation: str) -> list[int]:
    """Issue 8: the events this one asks for ("fetch-attachment"), stored with it (deduplicated by key)."""
    ids = []
    for key, body in follow_ups:
        if s.scalar(select(Event.id).where(Event.dedup_key == key)) is None:
            row = Event(source="attachment", kind="fetch-attachment", dedup_key=key, content_type="application/json",
                        body=body, correlation_id=correlation, status="queued", attempts=0, last_error="")
            s.add(row)
            s.flush()
            ids.append(row.id)
    return ids


def _store_in(s, event_id: int, parsed: Parsed) -> set[str]:
    groups: set[str] = set()
    local = {i.full_url: i.ref for i in parsed.items if i.full_url}
    order = {"Patient": 0, "Encounter": 1}
    if parsed.items:
        ev_store.lock_rows(s, parsed.items)  # one SELECT ... FOR UPDATE for all of them, not one each
    for item in sorted(parsed.items, key=lambda i: (order.get(i.type, 2), i.ref)):
        case_key, link = ev_store.group_of_resource(s, item, local)
        changed, before = ev_store.put_resource(s, item, case_key, link, event_id)
        if changed:
            groups |= {case_key} | ({before} if before is not None else set())
            groups |= _context_changed(s, item, local)
        if item.type == "Patient":
            groups |= ev_store.link_patient(s, item)
        elif item.type == "Encounter" and case_key:
            groups |= ev_store.link_encounter(s, item, case_key)
        s.flush()
    for key, kind, patient_id, study_uid, series_uid, data in parsed.instances:
        case_key, link = ev_store.group_of_instance(s, patient_id, study_uid)
        changed, before = ev_store.put_blob(s, key, kind, case_key, link, data, event_id)
        if changed:
            groups |= {case_key} | ({before} if before is not None else set())
            study = {ev_store.study_ref(study_uid)} if study_uid else set()
            ev_store.set_refs(s, key, study, set(), f"Series/{series_uid}" if series_uid else "")
            s.flush()
            if patient_id and link:  # no Patient carries its PatientID: its instances go where its first series goes
                groups |= ev_store.place_patient_id(s, patient_id)
    for mesh, params in parsed.meshes:
        case_key, link = _mesh_group(s, event_id, params)
        key = f"{link or case_key}#File/sha256:{mesh.sha256}"  # the same bytes again (another name or channel): one mesh
        mesh = _first_name(s, key, mesh)
        changed, before = ev_store.put_blob(s, key, "mesh", case_key, link, ev_store.mesh_data(mesh), event_id)
        if changed:
            groups |= {case_key} | ({before} if before is not None else set())
    return groups


def _first_name(s, key: str, mesh: SurfaceMesh) -> SurfaceMesh:
    """A mesh stored before under another name keeps the name first by order, whichever copy came first (the name
    `dwcoder suggest` keeps of two copies in one folder: plugin.case.one_per_content)."""
    from dataclasses import replace

    data = s.scalar(select(ev_store.Evidence.data).where(ev_store.Evidence.key == key))
    before = json.loads(data).get("source", "") if data else ""
    return replace(mesh, source=before) if before and (f"File/{before}", before) < (mesh.ref, mesh.source) else mesh


def _context_changed(s, item: FhirResource, local: dict[str, str]) -> set[str]:
    """Record what the resource needs and gives as cross-patient context; the groups that read what it gives
    (before and now) change with it, and series no Patient carries follow the study that places them."""
    needs, gives = ev_store.refs_of_resource(s, item, local)
    gave = ev_store.set_refs(s, ev_store.resource_key(item), needs, gives)
    s.flush()
    changed = gave | gives
    return ev_store.dependents(s, changed) | ev_store.place_by_study(s, changed)


def _mesh_group(s, event_id: int, params: dict[str, str]) -> tuple[str, str]:
    if params.get("patient"):
        if "|" in params["patient"]:  # an identifier "system|value" (scanner exports): linked by it, never guessed
            return ev_store.group_of_identifier(s, params["patient"])
        return ev_store.canonical(params["patient"]), ""
    if params.get("encounter"):
        encounter = ev_store.canonical(params["encounter"])
        found = s.scalar(select(ev_store.Evidence.case_key).where(ev_store.Evidence.key == encounter))
        return (found, "") if found else (f"Waiting/{encounter}", encounter)
    if params.get("patient-id"):
        return ev_store.group_of_patient_id(s, params["patient-id"])
    return f"Unlinked/event-{event_id}", ""


# ============================================================================ recompute_case
def recompute_case(ctx: Context, case_key: str, received: tuple[str, datetime] | None = None) -> str:
    """"clean" (nothing to do), "deferred" (burst not settled: queued again) or "recomputed". `received`: the
    correlation id and receipt time of the event that asks, when it asks at once (no lookup for the latency)."""
    start = time.perf_counter()
    with ctx.store.transaction() as s:
        outcome, counts, correlation = _recompute_locked(ctx, s, case_key, received)
    if outcome == "recomputed":
        log("case recomputed", case_hash=case_hash(case_key), correlation_id=correlation, ms=elapsed_ms(start), **counts)
    return outcome


def _recompute_locked(ctx: Context, s, case_key: str, received: tuple[str, datetime] | None) -> tuple[str, dict, str]:
    """Under the case's lock, in the caller's transaction: (outcome, counts, correlation id)."""
    case = lock(s, case_key)
    if case is None or not case.dirty:
        return "clean", {}, ""
    wait = quiet_for(case, ctx.settings.settle_s)
    if wait > 0:
        queue.enqueue(ctx.settings, queue.TASK_RECOMPUTE_CASE, case_key, countdown=wait + 0.01)
        return "deferred", {}, ""
    counts = _recompute_in(ctx, s, case)
    if counts["posted"]:  # issue 11: webhook -> ChargeItem latency, counted in the same transaction
        known = received[1] if received and received[0] == case.correlation_id else None
        latency.observe(s, case.correlation_id, received=known)
    case.dirty, case.computed_version, case.computed_at = False, case.version, datetime.now(timezone.utc)
    return "recomputed", counts, case.correlation_id


def _recompute_in(ctx: Context, s, case: Case) -> dict[str, int]:
    from plugin.coding import code_evidence
    from plugin.output.chargeitems import to_bundle

    read = ev_store.read_group(s, case.key)
    cfg = ctx.settings
    coded = code_evidence(read, cfg.practice, cfg.claim, cfg.mappings) if read.evidence else []
    postable = [x for x in coded if x.lines and (x.patient or x.patient_identifier) and _own(x, case.key)]
    bundle = to_bundle(postable, cfg.fhir_version)
    desired = {e["resource"]["identifier"][0]["value"]: e["resource"] for e in bundle.get("entry", [])}
    current = {r.identifier: r for r in s.scalars(select(Suggestion).where(
        or_(Suggestion.case_key == case.key, Suggestion.identifier.in_(list(desired)))).with_for_update())}
    sink = LocalEhr(s) if cfg.embedded_ehr else ctx.fhir
    counts = {"lines": len(desired), "posted": 0, "withdrawn": 0, "held": 0}
    targets: list[str] = []
    for ident in sorted(desired):
        _post_line(s, sink, case, ident, desired[ident], current.get(ident), counts, targets)
    for ident in sorted(set(current) - set(desired)):
        row = current[ident]
        if row.case_key == case.key and row.status == "active":
            up = _ehr(sink.withdraw_charge_item, {"system": LINE_SYSTEM, "value": ident})
            _history(s, case, ident, "withdraw", up)
            row.status = "held" if up.outcome == "held" else "withdrawn"
            counts["held" if up.outcome == "held" else "withdrawn"] += 1
            if up.outcome == "held":
                _review(case, "a ChargeItem the evidence no longer supports was already decided by a reviewer")
            elif up.id:
                targets.append(f"ChargeItem/{up.id}")
    if targets:  # before the review sync's first query: the postings are written in one INSERT
        entities = sorted({ev for x in postable for line in x.lines for ev in line.evidence})
        pid = _ehr(sink.post_provenance, targets, entities, DEVICE)
        _history(s, case, "", "provenance", Upsert(str(pid), "", "recorded"))
    # --- issue 9: the reviewer queue learns what is suggested now (decided lines that changed go back to it)
    from plugin.review.sync import after_recompute

    after_recompute(s, case.key, postable, desired, read)
    # --- end issue 9
    _write_history(s)
    return counts


def _own(coded, case_key: str) -> bool:
    """Is this case the group's own? A case of another Patient (made from context evidence: another patient's
    encounter or study read to decide this group's evidence) is posted by that patient's group only."""
    return not (coded.patient.startswith("Patient/") and coded.patient != case_key)


def _post_line(s, sink, case: Case, ident: str, resource: dict, row: Suggestion | None, counts: dict, targets: list) -> None:
    text = json.dumps(resource, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    if row is not None and row.digest == digest and row.status == "active" and row.case_key == case.key:
        return
    up = _ehr(sink.upsert_charge_item, resource, _last_write(row))
    _history(s, case, ident, "upsert", up)
    values = {"case_key": case.key, "resource": text, "digest": digest,
              "coded_case": (resource.get("context") or resource.get("encounter") or {}).get("reference", "")[:300],
              "fhir_id": up.id[:100], "version_id": str(up.version_id)[:100],
              "status": "held" if up.outcome == "held" else "active"}
    if row is None:  # a new line: written with the history at the end (Core INSERT; its key still unique)
        s.info.setdefault(NEW_LINES, []).append({"identifier": ident, **values})
    else:
        for name, value in values.items():
            setattr(row, name, value)
    if up.outcome == "held":
        counts["held"] += 1
        _review(case, "a changed suggestion was not applied: a reviewer already decided that ChargeItem")
    elif up.outcome != "unchanged":
        counts["posted"] += 1
        targets.append(f"ChargeItem/{up.id}")


def _last_write(row: Suggestion | None) -> tuple[str, str] | None:
    """What this store last wrote for the line, so the write can skip its search: never written -> NEW; an
    active line -> its id and version (a reviewer's change since bumps the version: the If-Match fails and the
    client looks); held or withdrawn lines -> None (search first)."""
    from plugin.ehr.chargeitems import NEW

    if row is None:
        return NEW
    return (row.fhir_id, row.version_id) if row.status == "active" and row.fhir_id and row.version_id else None


def _ehr(fn, *args):
    return fn(*args)


HISTORY = "dwcoder.postings"  # Session.info: the postings of this recomputation, written in one INSERT at its end
NEW_LINES = "dwcoder.new-suggestions"  # Session.info: suggestions first made by this recomputation, likewise


def _history(s, case: Case, ident: str, action: str, up) -> None:
    """Note a write in the posting history, timed now (when the EHR answered)."""
    s.info.setdefault(HISTORY, []).append({
        "case_key": case.key, "identifier": ident, "action": action, "outcome": up.outcome, "fhir_id": str(up.id)[:100],
        "version_id": str(up.version_id)[:100], "correlation_id": case.correlation_id, "at": datetime.now(timezone.utc)})


def _write_history(s) -> None:
    """New suggestions and the posting history, never read back in the recomputation: Core INSERTs, no ORM."""
    for info, table in ((NEW_LINES, Suggestion.__table__), (HISTORY, Posting.__table__)):
        rows = s.info.pop(info, [])
        if rows:
            s.execute(insert(table), rows)


def _review(case: Case, reason: str) -> None:
    case.needs_review, case.review_reason = True, reason[:500]


# ============================================================================ sweep
def sweep(ctx: Context, now: datetime | None = None) -> dict[str, int]:
    """Queue again what waited too long; returns counts by what was done."""
    now = now or datetime.now(timezone.utc)
    cfg = ctx.settings
    cutoff = now - timedelta(seconds=cfg.event_timeout_s)
    requeued: list[int] = []
    with ctx.store.transaction() as s:
        rows = s.scalars(select(Event).where(Event.status.in_(("queued", "processing"))).order_by(Event.id).limit(5000))
        for row in rows:
            last = max(t for t in (aware(row.received_at), aware(row.enqueued_at), aware(row.started_at)) if t)
            if last < cutoff:
                row.enqueued_at = now
                if row.status == "processing":
                    row.status = "queued"
                requeued.append(row.id)
    for event_id in requeued:
        queue.enqueue(cfg, queue.TASK_PROCESS_EVENT, event_id)
    with ctx.store.sessions() as s:
        waiting = dirty_cases(s, max(2.0, 10 * cfg.settle_s))
    for key in waiting:
        queue.enqueue(cfg, queue.TASK_RECOMPUTE_CASE, key)
    if requeued or waiting:
        log("sweep", events=len(requeued), cases=len(waiting))
    return {"events": len(requeued), "cases": len(waiting)}


def replay(ctx: Context, event_id: int) -> bool:
    """A dead letter back to the queue (after its cause was fixed). False if it is not a dead letter."""
    with ctx.store.transaction() as s:
        letter = s.scalar(select(DeadLetter).where(DeadLetter.event_id == event_id))
        row = s.get(Event, event_id, with_for_update=True)
        if letter is None or row is None or row.status != "dead":
            return False
        letter.replayed_at = datetime.now(timezone.utc)
        row.status, row.attempts, row.enqueued_at = "queued", 0, letter.replayed_at
    queue.enqueue(ctx.settings, queue.TASK_PROCESS_EVENT, event_id)
    return True


def settled(ctx: Context) -> bool:
    """No event waiting or running and no dirty case (tests and `dwcoder demo` wait for this)."""
    with ctx.store.sessions() as s:
        busy = s.scalar(select(Event.id).where(Event.status.in_(("queued", "processing"))).limit(1))
        dirty = s.scalar(select(Case.key).where(Case.dirty.is_(True)).limit(1))
    return busy is None and dirty is None


# ============================================================================ running tasks by name
def transient_errors() -> tuple[type[BaseException], ...]:
    """Errors retried with backoff: the EHR unavailable (connection error, timeout, 5xx, 429)."""
    from plugin import errors

    found = getattr(errors, "EhrUnavailable", None)
    return ((found,) if found is not None else ()) + (errors.PacsUnavailable,)  # issue 8: a PACS that cannot answer


def run_task(ctx: Context, name: str, args: tuple) -> Any:
    """The plain function behind a task name (what workers/tasks.py and the local queue call)."""
    if name == queue.TASK_PROCESS_EVENT:
        return process_event(ctx, int(args[0]))
    if name == queue.TASK_RECOMPUTE_CASE:
        return recompute_case(ctx, str(args[0]))
    if name == queue.TASK_SWEEP:
        return sweep(ctx)
    if name == queue.TASK_NOOP:
        return None
    if name == queue.TASK_RECONCILE:  # issue 8
        from plugin.reconcile import reconcile

        return reconcile(ctx, fhir=not args or args[0] != "pacs")
    raise ValueError(f"unknown task {name!r}")


def local_handler(ctx: Context):
    """The LocalQueue handler: run the task; transient errors come back later with backoff, then dead letter."""
    def handle(name: str, args: tuple, attempt: int) -> None:
        try:
            run_task(ctx, name, args)
        except transient_errors() as exc:
            if attempt + 1 >= ctx.settings.max_attempts:
                if name == queue.TASK_PROCESS_EVENT:
                    dead_letter(ctx, int(args[0]), type(exc).__name__, f"still failing after {attempt + 1} attempts")
                return
            raise queue.Retry(backoff_s(attempt)) from None
    return handle


def start_local(ctx: Context, threads: int = 1, sweep_every_s: float | None = None) -> "queue.LocalQueue":
    """Start the embedded queue (no REDIS_URL) and a sweeper; events left queued from before are picked up."""
    local = queue.LocalQueue(local_handler(ctx), threads).start()
    sweep_every_s = sweep_every_s or ctx.settings.sweep_every_s
    stop = threading.Event()

    def sweeper() -> None:
        while not stop.wait(sweep_every_s):
            local.put(queue.TASK_SWEEP, ())

    thread = threading.Thread(target=sweeper, name="dwcoder-sweeper", daemon=True)
    thread.start()
    original_stop = local.stop

    def stop_all(timeout: float = 10.0) -> None:
        stop.set()
        original_stop(timeout)

    local.stop = stop_all  # type: ignore[method-assign]
    with ctx.store.sessions() as s:
        waiting = list(s.scalars(select(Event.id).where(Event.status.in_(("queued", "processing"))).order_by(Event.id)))
    for event_id in waiting:
        local.put(queue.TASK_PROCESS_EVENT, (event_id,))
    return local
