"""One hook call, as a plain function: the request body in, the CDS Hooks response (cards) out.

    answer(settings, store, service, body, base_url, fhir_allowed, reasons) -> Answer

The suggestions come from the same engine and store as the pipeline: the patient's case group as the store
holds it (the PACS and scanner evidence the pipeline received) PLUS what the hook brought (prefetch, or fetched
from fhirServer), read by the same readers and coded by `plugin.coding.code_evidence` (the function behind
`dwcoder suggest`). Prefetch only adds: the store's evidence is never dropped, and where both hold a version of
one resource the case assembly keeps the later one.

"Not ready": when the patient's case group is marked dirty (its recomputation is pending) or events the plugin
received are still waiting to be read, the card says so and shows what is known now; the hook never waits.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from plugin.cds.cards import Card, CardInput, build
from plugin.cds.prefetch import Gathered, gather
from plugin.cds.services import FHIR_ID, Service, split
from plugin.coding import code_evidence
from plugin.errors import SourceRefused
from plugin.evidence.files import read_json_data
from plugin.output.chargeitems import line_identifier, to_bundle
from plugin.store import evidence as ev_store
from plugin.store.models import Case, Event, Suggestion as StoredLine

MAX_PATIENT_CASES = 5
CACHE_SIZE = 64
_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()


@dataclass
class Answer:
    response: dict                                   # {"cards": [...]}
    cards: list[tuple[Card, str, str]] = field(default_factory=list)   # (card, case group, coded case)
    versions: dict[str, int] = field(default_factory=dict)             # line identifier -> queue version
    gathered: Gathered | None = None                 # what the hook brought (stored as an event by the caller)


@dataclass
class Known:
    version: int | None      # the case group's version (None: the store has no case row for it)
    pending: str
    posted: dict[str, str]


def check_request(service: Service, body) -> tuple[str, str]:
    """(patientId, encounterId or "") of a hook request; SourceRefused(400) for what the spec requires."""
    if not isinstance(body, dict):
        raise SourceRefused(400, "structure", "a CDS Hooks request is a JSON object")
    if body.get("hook") != service.hook:
        raise SourceRefused(400, "value", f"this service answers the {service.hook} hook", expression="hook")
    if not isinstance(body.get("hookInstance"), str) or not body["hookInstance"]:
        raise SourceRefused(400, "required", "hookInstance is required", expression="hookInstance")
    context = body.get("context")
    if not isinstance(context, dict):
        raise SourceRefused(400, "required", "context is required", expression="context")
    patient = context.get("patientId")
    if not isinstance(patient, str) or not FHIR_ID.fullmatch(patient):
        raise SourceRefused(400, "value", "context.patientId must be a FHIR id", expression="context.patientId")
    encounter = context.get("encounterId", "")
    if encounter and (not isinstance(encounter, str) or not FHIR_ID.fullmatch(encounter)):
        raise SourceRefused(400, "value", "context.encounterId must be a FHIR id", expression="context.encounterId")
    if service.needs_encounter and not encounter:
        raise SourceRefused(400, "required", "context.encounterId is required by this hook", expression="context.encounterId")
    if body.get("fhirAuthorization") is not None and not isinstance(body.get("fhirServer"), str):
        raise SourceRefused(400, "required", "fhirServer is required with fhirAuthorization", expression="fhirServer")
    return patient, encounter


def answer(settings, store, service: Service, body: dict, review_base: str, fhir_allowed, reasons) -> Answer:
    patient, encounter = check_request(service, body)
    group = f"Patient/{patient}"
    gathered = gather(service, body, patient, settings.cds_fetch_timeout_s, fhir_allowed)
    known = _known(store, group, settings)
    coded, items, types = _coded(store, group, known, gathered, settings, service.id)
    if coded is None:
        raise SourceRefused(412, "incomplete", "nothing is known of this patient and the FHIR data could not be "
                                               "read (no prefetch, no usable fhirServer access)")
    chosen = _chosen(coded, group, encounter, service)
    out = Answer({"cards": []}, gathered=gathered)
    out.versions = queue_versions(store, list(items))
    for suggestion in chosen:
        idents = [(line, line_identifier(suggestion, line)[1]) for line in suggestion.lines]
        idents = [(line, ident) for line, ident in idents if ident in items]
        given = CardInput(service.id, items, known.posted, reasons, _review_url(store, review_base, group, suggestion),
                          known.pending, _not_read(service, gathered, types) + _dropped(gathered), service.charges)
        card = build(suggestion, idents, given)
        if card is not None:
            out.cards.append((card, group, suggestion.case))
            out.response["cards"].append(card.body)
    return out


def _coded(store, group: str, known: Known, gathered: Gathered, settings, service_id: str):
    """(the engine's answers for the union, their ChargeItems by line identifier); (None, {}) when nothing at all
    is known. Cached per (case group version, the hook's resources, coding settings): a case the pipeline has
    not changed since, asked again with the same prefetch (EHRs call a hook several times per encounter), is
    not read and coded again. A group the store has no case row for is never cached."""
    digest = hashlib.sha256(json.dumps(gathered.resources, sort_keys=True).encode()).hexdigest()
    key = (store.url, group, known.version, digest, settings.practice, settings.claim, settings.mappings,
           settings.fhir_version)
    if known.version is not None:
        with _CACHE_LOCK:
            if key in _CACHE:
                _CACHE.move_to_end(key)
                return _CACHE[key]
    with store.sessions() as s:
        read = ev_store.read_group(s, group)
    if gathered.resources:
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in gathered.resources]}
        read.extend(read_json_data(f"cds:{service_id}", bundle))
    if not read.evidence and gathered.unavailable and not gathered.from_prefetch:
        return None, {}, frozenset()
    types = frozenset(getattr(e, "type", "") for e in read.evidence)
    coded = code_evidence(read, settings.practice, settings.claim, settings.mappings) if read.evidence else []
    postable = [x for x in coded if x.patient or x.patient_identifier]
    items = {e["resource"]["identifier"][0]["value"]: e["resource"]
             for e in to_bundle(postable, settings.fhir_version).get("entry", [])} if postable else {}
    if known.version is not None:
        with _CACHE_LOCK:
            _CACHE[key] = (coded, items, types)
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
    return coded, items, types


def _not_read(service: Service, gathered: Gathered, types: frozenset) -> list[str]:
    """Prefetch keys that could not be read, less those whose resource type the plugin holds anyway (the
    pipeline's store gave it): what the clinician should know the card may lack."""
    out = []
    for note in gathered.unavailable:
        key = note.split(" (", 1)[0]
        template = service.prefetch.get(key, "")
        if split(template)[0] not in types:
            out.append(note)
    return out


def _known(store, group: str, settings) -> Known:
    """The group's version and whether it is settled, and which lines the EHR already holds (by id)."""
    with store.sessions() as s:
        row = s.execute(select(Case.version, Case.dirty).where(Case.key == group)).first()
        waiting = s.scalar(select(func.count()).select_from(Event).where(Event.status.in_(("queued", "processing"))))
        posted = {}
        if not settings.embedded_ehr:
            posted = {r.identifier: r.fhir_id for r in s.scalars(select(StoredLine).where(
                StoredLine.case_key == group, StoredLine.status == "active", StoredLine.fhir_id != ""))}
    pending = []
    if row is not None and row.dirty:
        pending.append("the plugin is still recomputing this patient's evidence.")
    if waiting:
        pending.append(f"{waiting} event(s) the plugin received are still waiting to be read.")
    return Known(row.version if row is not None else None, " ".join(pending), posted)


def _chosen(coded, group: str, encounter: str, service: Service) -> list:
    mine = [x for x in coded if x.patient in ("", group)]
    if encounter:
        wanted = f"Encounter/{encounter}"
        return [x for x in mine if wanted in (x.encounter, x.case)]
    mine = sorted(mine, key=lambda x: (x.date, x.case), reverse=True)
    return mine[:MAX_PATIENT_CASES] if not service.charges else mine[:1]


def _dropped(gathered: Gathered) -> list[str]:
    return [f"{gathered.other_patient} resource(s) naming another patient (left out)"] if gathered.other_patient else []


def _review_url(store, base: str, group: str, suggestion) -> str:
    """The case's page in the reviewer queue (/review/cases/<id>), else the queue itself (not listed yet)."""
    if not base:
        return ""
    try:
        from plugin.store.review import ReviewCase
    except ImportError:
        return ""
    with store.sessions() as s:
        found = s.scalar(select(ReviewCase.id).where(ReviewCase.group_key == group,
                                                     ReviewCase.coded_case == suggestion.case))
    return f"{base.rstrip('/')}/review/cases/{found}" if found is not None else f"{base.rstrip('/')}/review"


def queue_versions(store, idents: list[str]) -> dict[str, int]:
    """The reviewer queue's version of each line it holds (optimistic concurrency for feedback decisions)."""
    if not idents:
        return {}
    try:
        from plugin.store.review import ReviewLine
    except ImportError:   # the reviewer queue is not installed
        return {}
    with store.sessions() as s:
        rows = s.execute(select(ReviewLine.identifier, ReviewLine.version).where(ReviewLine.identifier.in_(idents)))
        return {ident: version for ident, version in rows}
