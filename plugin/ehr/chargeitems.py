"""Writing ChargeItems by their deterministic identifier: upsert, withdraw, set a status.

Every write is conditional, so two writers never overwrite each other unseen. When the caller knows what it
wrote last (`last`: the id and version of its previous write, or NEW: it never wrote this line), the first
attempt skips the search: NEW -> the conditional create straight away; (id, version) -> the PUT with If-Match
on that version. Anything unexpected (200 "exists", 404, 409, 410, 412) falls back to the searched loop below:
    no ChargeItem with the identifier  -> POST with If-None-Exist: identifier=<system>|<value>
                                          (the server answers 200 with the existing one if another writer
                                          won: we look again)
    one ChargeItem                     -> PUT ChargeItem/<id> with If-Match: W/"<versionId>"
                                          (412: someone changed it meanwhile: re-read and decide again)
    several                            -> EhrRefused: a person must merge them
A ChargeItem whose status someone moved on (HELD_STATUSES: billable, not-billable, billed, aborted) is
never changed: the outcome is "held" and the caller flags the case for review. Writers in one process also take a lock per identifier, for
servers whose conditional create is not atomic. Version conflicts that persist after MAX_ATTEMPTS
reads raise EhrUnavailable (transient: retried later).
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from plugin.ehr.transport import Transport, json_object
from plugin.errors import EhrRefused, EhrUnavailable

HELD_STATUSES = frozenset({"billable", "not-billable", "billed", "aborted"})
STATUSES = ("planned", "billable", "not-billable", "aborted", "billed", "entered-in-error", "unknown")
WITHDRAWN = "entered-in-error"
MAX_ATTEMPTS = 5
_RETRY_STATUSES = (404, 409, 410, 412)   # the resource changed or vanished between our read and our write
_SERVER_OWNED = ("id", "meta", "text")


@dataclass(frozen=True)
class Upsert:
    """What a write did. `id`/`version_id` are the server's ("" when no ChargeItem exists);
    outcome: "created" | "updated" | "unchanged" | "held"; `status` is the ChargeItem's status now."""
    id: str
    version_id: str
    outcome: str
    status: str = ""


_locks: "weakref.WeakValueDictionary[tuple[str, str, str], threading.Lock]" = weakref.WeakValueDictionary()
_locks_guard = threading.Lock()


def identifier_lock(base: str, identifier: dict) -> threading.Lock:
    key = (base, str(identifier.get("system", "")), str(identifier.get("value", "")))
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = threading.Lock()
            _locks[key] = lock
        return lock


NEW = ("", "")  # `last` of a line never written by this caller


def upsert(t: Transport, resource: dict, last: tuple[str, str] | None = None) -> Upsert:
    if resource.get("resourceType") != "ChargeItem":
        raise ValueError("upsert_charge_item needs a ChargeItem")
    identifier = identifier_of(resource)
    wanted = content(resource)
    with identifier_lock(t.base.url, identifier):
        informed = _informed(t, wanted, identifier, last) if last is not None else None
        if informed is not None:
            return informed
        for _ in range(MAX_ATTEMPTS):
            existing = find(t, identifier)
            if existing is None:
                made = _create(t, wanted, identifier)
                if made is not None:
                    return _result(made, "created")
                continue
            if existing.get("status") in HELD_STATUSES:
                return _result(existing, "held")
            if content(existing) == wanted:
                return _result(existing, "unchanged")
            updated = _update(t, existing, wanted)
            if updated is not None:
                return _result(updated, "updated")
    raise _conflict("upsert")


def _informed(t: Transport, wanted: dict, identifier: dict, last: tuple[str, str]) -> Upsert | None:
    """The write the caller's memory suggests, without a search first; None: look (the searched loop)."""
    rid, version = last
    if not rid:
        made = _create(t, wanted, identifier)
        return _result(made, "created") if made is not None else None
    if not version:
        return None
    updated = _update(t, {"id": rid, "meta": {"versionId": version}}, wanted)
    return _result(updated, "updated") if updated is not None else None


def set_status(t: Transport, identifier: dict, status: str, *, if_match: str | None = None,
               respect_hold: bool = False) -> Upsert:
    """Move the ChargeItem with `identifier` to `status`. With `if_match` (a version id) the write is made
    only on that version: if the ChargeItem changed since, nothing is written and the outcome is "held"
    (with the current version). Without, conflicts are re-read and retried. No ChargeItem: EhrRefused (404).
    `respect_hold` (withdrawals) leaves ChargeItems in HELD_STATUSES alone (outcome "held") and takes a
    missing ChargeItem as nothing to do (outcome "unchanged")."""
    if status not in STATUSES:
        raise ValueError(f"ChargeItem status {status!r}: expected one of {', '.join(STATUSES)}")
    _check_identifier(identifier)
    if if_match:   # a version id, or an ETag as the server sent it (W/"<id>")
        if_match = if_match.removeprefix("W/").strip('"')
    with identifier_lock(t.base.url, identifier):
        for _ in range(MAX_ATTEMPTS):
            existing = find(t, identifier)
            if existing is None:
                if respect_hold:
                    return Upsert("", "", "unchanged")
                raise EhrRefused("set ChargeItem status: no ChargeItem has this charge-line identifier", 404)
            if respect_hold and existing.get("status") in HELD_STATUSES:
                return _result(existing, "held")
            if existing.get("status") == status and if_match in (None, version_of(existing)):
                return _result(existing, "unchanged")
            wanted = {**content(existing), "status": status}
            updated = _update(t, existing, wanted, if_match=if_match)
            if updated is not None:
                return _result(updated, "updated")
            if if_match is not None:   # the reviewer saw an older version: leave it, report what is there now
                current = find(t, identifier)
                return _result(current, "held") if current else Upsert("", "", "held")
    raise _conflict("set status")


def withdraw(t: Transport, identifier: dict) -> Upsert:
    """Status entered-in-error, unless held; "unchanged" when there is none or it is already withdrawn."""
    return set_status(t, identifier, WITHDRAWN, respect_hold=True)


def find(t: Transport, identifier: dict) -> dict | None:
    url = t.base.join("ChargeItem")
    response = t.send("GET", url, "search ChargeItem", params={"identifier": search_token(identifier)})
    bundle = json_object(response, "search ChargeItem")
    found = [e["resource"] for e in bundle.get("entry") or []
             if isinstance(e, dict) and isinstance(e.get("resource"), dict)
             and e["resource"].get("resourceType") == "ChargeItem"]
    if len(found) > 1:
        raise EhrRefused(f"{len(found)} ChargeItems share one charge-line identifier: merge them by hand", 409)
    return found[0] if found else None


# --- pieces ---------------------------------------------------------------------------------


def identifier_of(resource: dict) -> dict:
    identifiers = resource.get("identifier")
    if not isinstance(identifiers, list) or not identifiers:
        raise ValueError("a ChargeItem to upsert needs identifier[0] (system and value)")
    identifier = identifiers[0]
    _check_identifier(identifier)
    return identifier


def _check_identifier(identifier: Any) -> None:
    if not (isinstance(identifier, dict) and identifier.get("system") and identifier.get("value")):
        raise ValueError("a charge-line identifier needs a system and a value")


def search_token(identifier: dict) -> str:
    """"system|value" with FHIR search escaping of \\ | , $."""
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("|", "\\|").replace(",", "\\,").replace("$", "\\$")
    return f"{esc(str(identifier['system']))}|{esc(str(identifier['value']))}"


def content(resource: dict) -> dict:
    """The resource without what the server owns (id, meta, narrative): what we compare and send."""
    return {k: v for k, v in resource.items() if k not in _SERVER_OWNED}


def version_of(resource: dict) -> str | None:
    meta = resource.get("meta")
    return meta.get("versionId") if isinstance(meta, dict) else None


def _create(t: Transport, wanted: dict, identifier: dict) -> dict | None:
    """The created ChargeItem, or None when one with the identifier appeared meanwhile."""
    condition = "identifier=" + _quote(search_token(identifier))
    response = t.send("POST", t.base.join("ChargeItem"), "create ChargeItem", body=wanted,
                      headers={"If-None-Exist": condition, "Prefer": "return=representation"})
    if response.status_code != 201:
        return None   # 200: another writer created it first
    return _body_or_headers(response)


def _update(t: Transport, existing: dict, wanted: dict, if_match: str | None = None) -> dict | None:
    """The updated ChargeItem, or None on a version conflict / vanished resource (look again)."""
    rid = existing.get("id")
    version = if_match or version_of(existing)
    if not rid or not version:
        raise EhrRefused("the FHIR server gave a ChargeItem without id or meta.versionId: cannot update safely", 200)
    response = t.send("PUT", t.base.join(f"ChargeItem/{rid}"), "update ChargeItem", body={**wanted, "id": rid},
                      headers={"If-Match": f'W/"{version}"', "Prefer": "return=representation"},
                      expect=_RETRY_STATUSES)
    if response.status_code in _RETRY_STATUSES:
        return None
    return _body_or_headers(response, rid)


def _body_or_headers(response, rid: str | None = None) -> dict:
    body = json_object(response, "write ChargeItem", allow_empty=True)
    if body.get("resourceType") == "ChargeItem":
        return body
    # return=minimal servers: id from Location, version from ETag
    location = response.headers.get("Location", "")
    parts = location.split("/")
    if not rid and "ChargeItem" in parts and parts.index("ChargeItem") + 1 < len(parts):
        rid = parts[parts.index("ChargeItem") + 1]
    etag = response.headers.get("ETag", "")
    version = etag.removeprefix("W/").strip('"') or None
    return {"resourceType": "ChargeItem", "id": rid, "meta": {"versionId": version} if version else {}}


def _result(resource: dict, outcome: str) -> Upsert:
    return Upsert(resource.get("id") or "", version_of(resource) or "", outcome, resource.get("status") or "")


def _conflict(what: str) -> EhrUnavailable:
    return EhrUnavailable(f"{what} ChargeItem: still conflicting after {MAX_ATTEMPTS} attempts", 412)


def _quote(token: str) -> str:
    return quote(token, safe="|")
