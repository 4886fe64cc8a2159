"""The evidence of each case group, latest version only, and how a group is read back for `assemble`.

Case group ("case key"): the patient the evidence belongs to, so that `assemble` sees exactly what
`dwcoder suggest` would see given that patient's files together:
  * the practice directory (Organization, Practitioner, PractitionerRole, Device, Location, HealthcareService)
    has case key "" and joins every group;
  * a Patient, and anything whose subject / patient / beneficiary is that Patient: "Patient/<id>";
  * a resource with no subject but an encounter: the Encounter's group (waits for it when not stored yet);
  * a DICOM instance: the Patient whose id or identifier value is its PatientID. Else (no Patient carries it
    yet) `dwcoder suggest` joins its series to the case of the ImagingStudy with its StudyInstanceUID and takes
    that study's patient for every series of the same PatientID (the first series, by UID, whose study is
    known decides); so all instances of that PatientID are kept together in the group of that study's patient,
    else in "PatientID/<value>". Without a PatientID: its study's patient group, else "Unlinked/PatientID".
    They move when that Patient or a study arrives (`link` = "PatientID/<value>": no Patient carries it yet);
  * a mesh file: the patient / encounter / DICOM PatientID named by its content type's parameters
    (`model/stl; patient="Patient/p1"`, `encounter="Encounter/e1"` or `patient-id="12345"`), else a group of its
    own ("Unlinked/<event id>", never coded: the contract says unlinked files are reported, not guessed).

Cross-patient context (plugin/store/refs.py): a group is read with the Encounters its records name, the other
groups' records naming those Encounters (the first of them decides whose an Encounter not stored yet is) and the
ImagingStudies carrying its series' StudyInstanceUIDs, wherever they are stored (and, in turn, what those
need), so that `assemble` sees another patient's encounter or study and reports a PatientMismatch exactly as
`dwcoder suggest` does on all the files. Context evidence comes from outside the group's folder (its source
is under CONTEXT_FOLDER), and only the cases of the group's own patient are posted (plugin.pipeline).
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Iterable

from sqlalchemy import insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from plugin import resources as fr
from plugin.case import CLINICAL
from plugin.evidence import dicom
from plugin.evidence.model import DicomSeries, FhirResource, ReadResult, SurfaceMesh
from plugin.evidence.versions import newer
from plugin.store.models import Evidence, PatientLink
from plugin.store.refs import GIVES, NEEDS, SERIES, EvidenceRef

CONTEXT_FOLDER = "/dwcoder-context"  # where context evidence "comes from": never the group's own folder
NEW_KEYS = "dwcoder.new-evidence"  # Session.info: keys of the evidence rows this transaction created
KNOWN_ROWS = "dwcoder.known-evidence"  # Session.info: key -> row (None: none stored), read and locked by lock_rows
HOPS = 4  # series -> study -> encounter is two; bounded
DIRECTORY = frozenset({"Organization", "Practitioner", "PractitionerRole", "Device", "Location", "HealthcareService"})


# --------------------------------------------------------------------------------- where it belongs
def canonical(ref: str) -> str:
    """"Type/id" of a relative or absolute reference (urn:uuid: left as is)."""
    if not ref or ref.startswith("urn:"):
        return ref
    parts = ref.split("/_history/")[0].rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else ref


def resolve(session, ref: str, local: dict[str, str]) -> str:
    """A reference as "Type/id": through the same Bundle's fullUrls, else the stored resources' fullUrls."""
    if ref in local:
        return local[ref]
    if ref.startswith("urn:"):
        found = session.scalar(select(Evidence.key).where(Evidence.full_url == ref).limit(1))
        return found or ""
    return canonical(ref)


def group_of_resource(session, item: FhirResource, local: dict[str, str]) -> tuple[str, str]:
    """(case key, link awaited) for a FHIR resource."""
    if item.type in DIRECTORY:
        return "", ""
    if item.type == "Patient":
        return item.ref, ""
    subject = resolve(session, fr.subject_ref(item.resource), local)
    if subject.startswith("Patient/"):
        return subject, ""
    encounter = resolve(session, fr.encounter_ref(item.resource), local)
    if encounter.startswith("Encounter/"):
        found = session.scalar(select(Evidence.case_key).where(Evidence.key == encounter))
        return (found, "") if found else (f"Waiting/{encounter}", encounter)
    return f"Unlinked/{item.ref}", ""


def group_of_instance(session, patient_id: str, study_uid: str) -> tuple[str, str]:
    """(case key, link) for a DICOM instance as it arrives: its Patient; else where its PatientID's instances
    already are, else its study's patient group, else its PatientID's own (`place_patient_id` then settles it)."""
    link = f"PatientID/{patient_id}"
    if patient_id:
        found = session.scalars(select(PatientLink.patient_ref).where(PatientLink.value == patient_id)
                                .order_by(PatientLink.patient_ref)).first()
        if found:
            return found, ""
        placed = session.scalars(select(Evidence.case_key).where(Evidence.link == link).limit(1)).first()
        if placed:
            return placed, link
    study = study_group(session, study_uid)
    if study:
        return study, link
    return (link, link) if patient_id else ("Unlinked/PatientID", link)


def place_patient_id(session, patient_id: str) -> set[str]:
    """All instances of a PatientID no Patient carries, in one group: the patient group of the study of its
    first series (by UID) whose study is known, else "PatientID/<value>". Returns the groups left and joined."""
    link = f"PatientID/{patient_id}"
    needs, series = aliased(EvidenceRef), aliased(EvidenceRef)
    pairs = session.execute(select(series.ref, needs.ref).select_from(Evidence)
                            .join(series, (series.evidence_key == Evidence.key) & (series.role == SERIES))
                            .join(needs, (needs.evidence_key == Evidence.key) & (needs.role == NEEDS))
                            .where(Evidence.link == link).distinct()).all()
    target = next((g for g in (study_group(session, study.removeprefix("Study/")) for _, study in sorted(pairs)) if g), link)
    left = set(session.scalars(select(Evidence.case_key).where(Evidence.link == link, Evidence.case_key != target).distinct()))
    if left:
        session.execute(update(Evidence).where(Evidence.link == link, Evidence.case_key != target).values(case_key=target))
        left.add(target)
    return left


def study_group(session, study_uid: str) -> str:
    """The patient group of an ImagingStudy carrying this StudyInstanceUID ("" if none is stored)."""
    if not study_uid:
        return ""
    return session.scalars(select(Evidence.case_key).join(EvidenceRef, EvidenceRef.evidence_key == Evidence.key)
                           .where(EvidenceRef.role == GIVES, EvidenceRef.ref == study_ref(study_uid),
                                  Evidence.case_key.like("Patient/%")).order_by(Evidence.case_key)).first() or ""


def group_of_patient_id(session, patient_id: str) -> tuple[str, str]:
    """(case key, link) for a DICOM PatientID."""
    if not patient_id:
        return "Unlinked/PatientID", ""
    found = session.scalars(select(PatientLink.patient_ref).where(PatientLink.value == patient_id).order_by(PatientLink.patient_ref)).first()
    return (found, "") if found else (f"PatientID/{patient_id}", f"PatientID/{patient_id}")


def group_of_identifier(session, token: str) -> tuple[str, str]:
    """(case key, link) for a patient identifier "system|value" (a scanner export's `patient` parameter): the one
    Patient holding exactly that identifier; none yet: "Identifier/<token>", waiting for it; several: a group of
    its own that is never coded (never guessed)."""
    system, _, value = token.partition("|")
    holders = []
    for ref in session.scalars(select(PatientLink.patient_ref).where(PatientLink.value == value).order_by(PatientLink.patient_ref)):
        row = session.scalar(select(Evidence).where(Evidence.key == ref))
        if row is not None and row.kind == "fhir" and (system, value) in fr.identifiers(to_resource(row).resource):
            holders.append(ref)
    if len(holders) == 1:
        return holders[0], ""
    if holders:
        return f"Unlinked/Identifier/{token}", ""
    return f"Identifier/{token}", f"Identifier/{token}"


def link_patient(session, item: FhirResource) -> set[str]:
    """Record a Patient's id and identifier values; move evidence that waited for it. Returns the groups left."""
    values = {item.resource.get("id", "")} | {v for _, v in fr.identifiers(item.resource)}
    values.discard("")
    if values:  # one statement: links already known are left as they are
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(PatientLink).values([{"value": v, "patient_ref": item.ref} for v in sorted(values)])
                        .on_conflict_do_nothing(index_elements=[PatientLink.value, PatientLink.patient_ref]))
    waiting = [f"PatientID/{v}" for v in values] + [f"Identifier/{s}|{v}" for s, v in fr.identifiers(item.resource) if s and v]
    return _relink(session, waiting, item.ref)


def link_encounter(session, item: FhirResource, case_key: str) -> set[str]:
    return _relink(session, [item.ref], case_key)


def _relink(session, links: list[str], case_key: str) -> set[str]:
    left: set[str] = set()
    if not links or not case_key.startswith("Patient/"):
        return left
    for row in session.scalars(select(Evidence).where(Evidence.link.in_(links))):
        left.add(row.case_key)
        row.case_key, row.link = case_key, ""
    return left


# --------------------------------------------------------------------------------- context refs
def study_ref(uid: str) -> str:
    return "Study/" + uid.strip().removeprefix("urn:oid:")


def resource_key(item: FhirResource) -> str:
    return item.ref if item.resource.get("id") else (item.full_url or item.ref)


def refs_of_resource(session, item: FhirResource, local: dict[str, str]) -> tuple[set[str], set[str]]:
    """(needs, gives): a clinical record needs its Encounter, and gives it too: while no Encounter resource says
    whose it is, case._place_record lets the first record (by reference) naming it decide, so every group whose
    records name that Encounter reads all the records naming it. An Encounter gives itself, an ImagingStudy its
    identifiers as StudyInstanceUIDs (as case._place_series reads them)."""
    needs: set[str] = set()
    gives: set[str] = set()
    if item.type == "Encounter":
        gives.add(item.ref)
    elif item.type == "ImagingStudy":
        gives |= {study_ref(value) for _, value in fr.identifiers(item.resource) if value.strip()}
    if item.type in CLINICAL:
        encounter = resolve(session, fr.encounter_ref(item.resource), local)
        if encounter.startswith("Encounter/"):
            needs.add(encounter)
            gives.add(encounter)
    return needs, gives


def set_refs(session, key: str, needs: set[str], gives: set[str], series: str = "") -> set[str]:
    """Replace what `key` needs and gives (and the series it is of); returns what it gave before (their
    dependents may change too)."""
    fresh = key in session.info.get(NEW_KEYS, ())  # evidence first stored in this transaction has no refs yet
    old = {} if fresh else {(r.role, r.ref): r for r in session.scalars(select(EvidenceRef).where(EvidenceRef.evidence_key == key))}
    want = {(NEEDS, r[:300]) for r in needs} | {(GIVES, r[:300]) for r in gives} | ({(SERIES, series[:300])} if series else set())
    for pair, row in old.items():
        if pair not in want:
            session.delete(row)
    for role, ref in sorted(want - set(old)):
        session.add(EvidenceRef(evidence_key=key, role=role, ref=ref))
    return {ref for role, ref in old if role == GIVES}


def dependents(session, refs: set[str]) -> set[str]:
    """The groups whose reading includes any of `refs` as context (directly, or through context that needs it)."""
    groups: set[str] = set()
    seen: set[str] = set()
    for _ in range(HOPS):
        refs = refs - seen
        if not refs:
            break
        seen |= refs
        rows = session.execute(select(Evidence.key, Evidence.case_key).join(EvidenceRef, EvidenceRef.evidence_key == Evidence.key)
                               .where(EvidenceRef.role == NEEDS, EvidenceRef.ref.in_(sorted(refs)))).all()
        groups |= {case_key for _, case_key in rows}
        keys = sorted({key for key, _ in rows})
        refs = set(session.scalars(select(EvidenceRef.ref).where(EvidenceRef.role == GIVES, EvidenceRef.evidence_key.in_(keys)))) if keys else set()
    return groups


def place_by_study(session, refs: set[str]) -> set[str]:
    """DICOM instances no Patient carries, placed again after a study they name arrived, moved or changed.
    Returns the groups they left and joined."""
    moved: set[str] = set()
    for ref in sorted(r for r in refs if r.startswith("Study/")):
        rows = list(session.scalars(select(Evidence).join(EvidenceRef, EvidenceRef.evidence_key == Evidence.key)
                                    .where(EvidenceRef.role == NEEDS, EvidenceRef.ref == ref, Evidence.link.like("PatientID/%"))))
        for value in sorted({row.link.removeprefix("PatientID/") for row in rows} - {""}):
            moved |= place_patient_id(session, value)
        for row in (r for r in rows if r.link == "PatientID/"):
            case_key = study_group(session, ref.removeprefix("Study/")) or "Unlinked/PatientID"
            if case_key != row.case_key:
                moved |= {row.case_key, case_key}
                row.case_key = case_key
    return moved


# --------------------------------------------------------------------------------- writing
def lock_rows(session, items: Iterable[FhirResource]) -> None:
    """Read (and lock) the stored rows of these resources in one statement, for `put_resource` to use."""
    keys = sorted({resource_key(i) for i in items})
    known = session.info.setdefault(KNOWN_ROWS, {})
    found = {row.key: row for row in session.scalars(select(Evidence).where(Evidence.key.in_(keys)).with_for_update())}
    known.update((key, found.get(key)) for key in keys)


def put_resource(session, item: FhirResource, case_key: str, link: str, event_id: int) -> tuple[bool, str | None]:
    """Keep the latest version; returns (changed, the group it was in before when it moved, else None)."""
    key = resource_key(item)
    data = json.dumps({"v": item.version, "r": item.resource, "u": item.full_url}, sort_keys=True).encode()
    known = session.info.setdefault(KNOWN_ROWS, {})
    row = known[key] if key in known else session.scalar(select(Evidence).where(Evidence.key == key).with_for_update())
    if row is None:  # a Core INSERT (no ORM unit of work); read back by a query if this event names it again
        session.execute(insert(Evidence.__table__).values(key=key, case_key=case_key, kind="fhir", full_url=item.full_url,
                                                          link=link, data=data, event_id=event_id))
        known.pop(key, None)
        session.info.setdefault(NEW_KEYS, set()).add(key)
        return True, None
    if row.data == data:
        return False, None
    old = to_resource(row)
    if not newer(old, item):
        return False, None  # an older version arriving late
    before = row.case_key if row.case_key != case_key else None
    row.case_key, row.link, row.data, row.full_url, row.event_id = case_key, link, data, item.full_url, event_id
    return True, before


def put_blob(session, key: str, kind: str, case_key: str, link: str, data: bytes, event_id: int) -> tuple[bool, str | None]:
    """A DICOM instance or mesh facts by key; same bytes again changes nothing."""
    row = session.scalar(select(Evidence).where(Evidence.key == key).with_for_update())
    if row is None:
        session.add(Evidence(key=key, case_key=case_key, kind=kind, link=link, data=data, event_id=event_id))
        session.info.setdefault(NEW_KEYS, set()).add(key)
        return True, None
    if row.data == data and row.case_key == case_key:
        return False, None
    before = row.case_key if row.case_key != case_key else None
    row.case_key, row.link, row.data, row.event_id, row.kind = case_key, link, data, event_id, kind
    return True, before


def mesh_data(mesh: SurfaceMesh) -> bytes:
    return json.dumps(asdict(mesh), sort_keys=True).encode()


# --------------------------------------------------------------------------------- reading back
def to_resource(row: Evidence, source: str = "") -> FhirResource:
    data = json.loads(row.data)
    return FhirResource(source=source or f"store:{row.key}", version=data["v"], resource=data["r"], full_url=data.get("u", ""))


def groups_of_directory_change(session) -> list[str]:
    """Every group (a practice directory change can change any case)."""
    return sorted(set(session.scalars(select(Evidence.case_key).where(Evidence.case_key != "").distinct())))


def read_group(session, case_key: str) -> ReadResult:
    """The group's evidence (plus the practice directory) as the readers would give it for files."""
    rows = list(session.scalars(select(Evidence).where(or_(Evidence.case_key == case_key, Evidence.case_key == ""))
                                .order_by(Evidence.key)))
    result = ReadResult()
    result.evidence.extend(to_resource(r) for r in rows if r.kind == "fhir")
    result.evidence.extend(to_resource(r, f"{CONTEXT_FOLDER}/{r.key}") for r in context_rows(session, case_key))
    json_instances: list = []
    for r in rows:
        if r.kind == "dicom-json":  # one dataset, or a whole series as a list (a PACS study, issue 8)
            data = json.loads(r.data)
            json_instances.extend(data if isinstance(data, list) else [data])
    if json_instances:
        result.extend(dicom.read_dicom_json(Path(f"store/{case_key}/dicom.json"), json_instances))
    part10 = [r for r in rows if r.kind == "dicom-part10"]
    if part10:
        result.extend(_read_part10(part10))
    for r in rows:
        if r.kind == "mesh":
            facts = json.loads(r.data)
            facts["bbox_min"], facts["bbox_max"] = tuple(facts["bbox_min"]), tuple(facts["bbox_max"])
            result.evidence.append(SurfaceMesh(**facts))
    return result


def context_rows(session, case_key: str) -> list[Evidence]:
    """The Encounters and ImagingStudies of other groups that the group's evidence needs, and what they need."""
    needs = set(session.scalars(select(EvidenceRef.ref).join(Evidence, EvidenceRef.evidence_key == Evidence.key)
                                .where(Evidence.case_key == case_key, EvidenceRef.role == NEEDS).distinct()))
    found: dict[str, Evidence] = {}
    seen: set[str] = set()
    for _ in range(HOPS):
        needs -= seen
        if not needs:
            break
        seen |= needs
        givers = [row for row in session.scalars(
            select(Evidence).join(EvidenceRef, EvidenceRef.evidence_key == Evidence.key)
            .where(EvidenceRef.role == GIVES, EvidenceRef.ref.in_(sorted(needs)), Evidence.case_key != case_key,
                   Evidence.case_key != "", Evidence.kind == "fhir")).unique() if row.key not in found]
        found.update((row.key, row) for row in givers)
        keys = sorted(row.key for row in givers)
        needs = set(session.scalars(select(EvidenceRef.ref).where(EvidenceRef.role == NEEDS, EvidenceRef.evidence_key.in_(keys)))) if keys else set()
    return [found[k] for k in sorted(found)]


def _read_part10(rows: Iterable[Evidence]) -> ReadResult:
    """Header-only Part 10 copies written to a scratch folder and read by the same reader as files."""
    with tempfile.TemporaryDirectory(prefix="dwcoder-dicom-") as tmp:
        paths = []
        for n, row in enumerate(rows):
            path = os.path.join(tmp, f"{n:06d}.dcm")
            with open(path, "wb") as fh:
                fh.write(row.data)
            paths.append(Path(path))
        result = dicom.read_dicom_files(paths)
    fixed = ReadResult(problems=result.problems)
    for item in result.evidence:
        fixed.evidence.append(_series_source(item) if isinstance(item, DicomSeries) else item)
    return fixed


def _series_source(series: DicomSeries) -> DicomSeries:
    from dataclasses import replace

    return replace(series, source=f"store/Series/{series.series_uid}", files=(f"store/Series/{series.series_uid}",))
