"""What the EHR gave with the hook (prefetch), and what the plugin fetches itself when prefetch lacks it.

For each prefetch key of the service:
    present with a resource or a searchset Bundle   -> its resources are used
    present with null                               -> the EHR has no such data: nothing to fetch
    absent                                          -> fetched from `fhirServer` with the request's
                                                       `fhirAuthorization` access token (a StaticBearer), and
                                                       only from that server (plugin.ehr's client refuses any
                                                       other URL: ForeignUrl), in parallel, within
                                                       CDS_FETCH_TIMEOUT_S; what does not come in time is named
The access token lives in this call only: never logged, stored or put in a message.
Resources that name another patient than the hook's `patientId` are dropped and counted (never the wrong patient).
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from plugin import resources as fr
from plugin.cds.services import Service, render, split
from plugin.errors import EhrError

log = logging.getLogger("dwcoder.cds")
MAX_FETCH_WORKERS = 6


@dataclass
class Gathered:
    resources: list[dict] = field(default_factory=list)
    from_prefetch: list[str] = field(default_factory=list)    # prefetch keys the EHR sent
    fetched: list[str] = field(default_factory=list)          # keys read from fhirServer
    unavailable: list[str] = field(default_factory=list)      # "procedures (timed out)", ...
    other_patient: int = 0                                     # resources dropped: another patient


def gather(service: Service, body: dict, patient_id: str, fetch_timeout_s: float, fhir_allowed) -> Gathered:
    """Resources for the hook; `fhir_allowed(base) -> bool` says whether fhirServer may be used."""
    out = Gathered()
    prefetch = body.get("prefetch") if isinstance(body.get("prefetch"), dict) else {}
    context = body.get("context") if isinstance(body.get("context"), dict) else {}
    wanted: dict[str, str] = {}
    for key, template in service.prefetch.items():
        if key in prefetch:
            out.from_prefetch.append(key)
            _keep(out, _resources(prefetch[key]), patient_id)
            continue
        query = render(template, context)
        if query is not None:
            wanted[key] = query
    if wanted:
        _fetch(out, wanted, body, patient_id, fetch_timeout_s, fhir_allowed)
    return out


def _resources(value) -> list[dict]:
    if not isinstance(value, dict):
        return []   # null (no data), or a plain value such as a user id
    if value.get("resourceType") == "Bundle":
        return [e["resource"] for e in value.get("entry") or []
                if isinstance(e, dict) and isinstance(e.get("resource"), dict)
                and e["resource"].get("resourceType") != "OperationOutcome"]
    return [value] if isinstance(value.get("resourceType"), str) else []


def _keep(out: Gathered, found: list[dict], patient_id: str) -> None:
    for resource in found:
        if _other_patient(resource, patient_id):
            out.other_patient += 1
        else:
            out.resources.append(resource)


def _other_patient(resource: dict, patient_id: str) -> bool:
    if resource.get("resourceType") == "Patient":
        return resource.get("id") != patient_id
    ref = fr.subject_ref(resource)
    if not ref.startswith("Patient/") and "/Patient/" not in ref:
        return False   # no patient reference (or a logical one): the case assembly decides
    return ref.split("/_history/")[0].rstrip("/").rsplit("/", 1)[-1] != patient_id


def _fetch(out: Gathered, wanted: dict[str, str], body: dict, patient_id: str, timeout_s: float, fhir_allowed) -> None:
    base, token = _server(body)
    if not base or not token:
        out.unavailable += [f"{key} (not prefetched, and no fhirServer access given)" for key in wanted]
        return
    if not fhir_allowed(base):
        out.unavailable += [f"{key} (fhirServer is not allow-listed for this EHR)" for key in wanted]
        log.warning("cds: fhirServer not allow-listed for the calling issuer; nothing fetched")
        return
    from plugin.ehr import FhirClient, StaticBearer

    try:
        client = FhirClient(base, StaticBearer(token), timeout=timeout_s)
    except ValueError:
        out.unavailable += [f"{key} (fhirServer is not a usable FHIR base)" for key in wanted]
        return
    pool = ThreadPoolExecutor(max_workers=min(MAX_FETCH_WORKERS, len(wanted)), thread_name_prefix="cds-fetch")
    try:
        futures = {pool.submit(_one, client, query): key for key, query in wanted.items()}
        done, late = wait(futures, timeout=timeout_s + 0.05)
        for future in sorted(done, key=lambda f: futures[f]):
            key = futures[future]
            try:
                _keep(out, future.result(), patient_id)
                out.fetched.append(key)
            except EhrError as exc:
                out.unavailable.append(f"{key} ({type(exc).__name__})")
        out.unavailable += sorted(f"{futures[f]} (timed out)" for f in late)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        client.close()


def _one(client, query: str) -> list[dict]:
    rtype, rid, params = split(query)
    if rid is not None:
        found = client.read(f"{rtype}/{rid}")
        return [found] if found else []
    return client.search(rtype, params)


def _server(body: dict) -> tuple[str, str]:
    auth = body.get("fhirAuthorization")
    token = auth.get("access_token") if isinstance(auth, dict) else None
    base = body.get("fhirServer")
    return (base.rstrip("/") if isinstance(base, str) else ""), (token if isinstance(token, str) else "")
