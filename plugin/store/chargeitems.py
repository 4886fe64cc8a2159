"""The embedded EHR (no FHIR_BASE_URL): ChargeItems and Provenance kept in the service's own database.

`LocalEhr(session)` has the same write methods as plugin.ehr.FhirClient (upsert_charge_item,
withdraw_charge_item, set_charge_item_status, post_provenance) and answers with the same `Upsert`, so the
pipeline writes to either without knowing which. It works inside the caller's transaction, so a
recomputation's ChargeItems and its suggestions commit together. `read` / `search` serve /fhir/ChargeItem.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from plugin.store.models import LocalChargeItem, LocalProvenance

MOVED_ON = frozenset({"billable", "not-billable", "billed", "aborted"})  # as plugin.ehr HELD_STATUSES: never overwritten


@dataclass(frozen=True)
class Upsert:
    id: str
    version_id: str
    outcome: str  # created | updated | unchanged | held


def token(identifier: dict) -> str:
    return f"{identifier.get('system', '')}|{identifier.get('value', '')}"


class LocalEhr:
    def __init__(self, session) -> None:
        self.session = session

    def upsert_charge_item(self, resource: dict, last: tuple[str, str] | None = None) -> Upsert:
        # `last` is the FHIR client's hint to skip a search; the local store looks its row up anyway
        ident = token(resource["identifier"][0])
        row = self.session.scalar(select(LocalChargeItem).where(LocalChargeItem.identifier == ident).with_for_update())
        if row is None:
            new_id = str(uuid.uuid4())
            body = _stamp(resource, new_id, 1)
            self.session.add(LocalChargeItem(id=new_id, identifier=ident, version=1, status=resource.get("status", ""),
                                             resource=json.dumps(body, sort_keys=True)))
            self.session.flush()
            return Upsert(new_id, "1", "created")
        if row.status in MOVED_ON:
            return Upsert(row.id, str(row.version), "held")
        if _content(json.loads(row.resource)) == _content(resource):
            return Upsert(row.id, str(row.version), "unchanged")
        return self._write(row, resource)

    def withdraw_charge_item(self, identifier: dict) -> Upsert:
        row = self.session.scalar(select(LocalChargeItem).where(LocalChargeItem.identifier == token(identifier)).with_for_update())
        if row is None:
            return Upsert("", "", "unchanged")
        if row.status in MOVED_ON:
            return Upsert(row.id, str(row.version), "held")
        if row.status == "entered-in-error":
            return Upsert(row.id, str(row.version), "unchanged")
        return self._write(row, {**json.loads(row.resource), "status": "entered-in-error"})

    def set_charge_item_status(self, identifier: dict, status: str, if_match: str | None = None) -> Upsert:
        row = self.session.scalar(select(LocalChargeItem).where(LocalChargeItem.identifier == token(identifier)).with_for_update())
        if row is None:
            raise LookupError(f"no ChargeItem with identifier {token(identifier)}")
        if if_match is not None and if_match.strip('W/"') != str(row.version):
            return Upsert(row.id, str(row.version), "held")
        return self._write(row, {**json.loads(row.resource), "status": status})

    def post_provenance(self, targets: list[str], entities: list[str], device_display: str) -> str:
        pid = str(uuid.uuid4())
        resource = {
            "resourceType": "Provenance", "id": pid,
            "target": [{"reference": t} for t in targets],
            "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                            "code": "author"}]},
                       "who": {"display": device_display}}],
        }
        if entities:
            resource["entity"] = [{"role": "source", "what": _what(e)} for e in entities]
        self.session.add(LocalProvenance(id=pid, resource=json.dumps(resource, sort_keys=True)))
        return pid

    def _write(self, row: LocalChargeItem, resource: dict) -> Upsert:
        row.version += 1
        row.status = resource.get("status", "")
        row.resource = json.dumps(_stamp(resource, row.id, row.version), sort_keys=True)
        return Upsert(row.id, str(row.version), "updated")


def _stamp(resource: dict, rid: str, version: int) -> dict:
    return {**_content(resource), "id": rid,
            "meta": {"versionId": str(version), "lastUpdated": datetime.now(timezone.utc).isoformat(timespec="milliseconds")}}


def _content(resource: dict) -> dict:
    return {k: v for k, v in resource.items() if k not in ("id", "meta")}


def _what(ref: str) -> dict:
    kind, _, rest = ref.partition("/")
    if kind == "Series":
        return {"identifier": {"system": "urn:dicom:uid", "value": f"urn:oid:{rest}"}, "display": "DICOM series"}
    if kind == "File":
        return {"display": f"file {rest}"}
    return {"reference": ref}


# ------------------------------------------------------------------------------------ reading (/fhir)
def read(db, item_id: str) -> dict | None:
    with db.sessions() as session:
        row = session.get(LocalChargeItem, item_id)
        return json.loads(row.resource) if row else None


def search(db, identifier: str = "", status: str = "", limit: int = 1000) -> list[dict]:
    """ChargeItems by identifier token ("system|value" or a bare value) and / or status (comma = any of)."""
    with db.sessions() as session:
        q = select(LocalChargeItem).order_by(LocalChargeItem.id)
        if identifier:
            q = q.where(LocalChargeItem.identifier == identifier if "|" in identifier
                        else LocalChargeItem.identifier.endswith("|" + identifier))
        if status:
            q = q.where(LocalChargeItem.status.in_(status.split(",")))
        return [json.loads(r.resource) for r in session.scalars(q.limit(limit))]
