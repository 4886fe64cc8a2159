"""Case assembly: which evidence belongs to which encounter, who the practice is, which claim form.

A case is one patient's encounter (contract section 1). Records join by their encounter reference;
records, DICOM series and files without one join by patient + calendar day. Paths given together
are one case unless they carry different encounters; then a file with no patient data joins the case
whose evidence sits nearest to it in the folder tree.
The practice (contract section 2) is the Organization with the configured identifier, its
PractitionerRoles' practitioners, its Devices and Locations; anyone else is a third party.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from plugin import resources as fr
from plugin.evidence.model import DicomSeries, FhirResource, Problem, ReadResult, SurfaceMesh
from plugin.mappings import Mappings

CLINICAL = frozenset({"Procedure", "ImagingStudy", "DiagnosticReport", "DocumentReference", "Media"})
WITHDRAWN = frozenset({"entered-in-error", "cancelled"})  # records that say nothing happened


class Index:
    """Resources by reference: "Type/id", absolute URLs ending in Type/id, and Bundle fullUrls."""

    def __init__(self, items: list[FhirResource]) -> None:
        self.by_ref: dict[str, FhirResource] = {}
        self.by_type: dict[str, list[FhirResource]] = {}
        for item in sorted(items, key=lambda i: i.ref):
            self.by_ref[item.ref] = item
            self.by_type.setdefault(item.type, []).append(item)
            if item.full_url:
                self.by_ref[item.full_url] = item

    def get(self, ref: str) -> FhirResource | None:
        if ref in self.by_ref:
            return self.by_ref[ref]
        parts = ref.rstrip("/").split("/")
        return self.by_ref.get("/".join(parts[-2:])) if len(parts) >= 2 else None

    def canonical(self, ref: str) -> str:
        found = self.get(ref)
        return found.ref if found else ref

    def of_type(self, rtype: str) -> list[FhirResource]:
        return self.by_type.get(rtype, [])


@dataclass
class Practice:
    identifier: str
    orgs: set[str] = field(default_factory=set)
    members: set[str] = field(default_factory=set)  # Practitioner, PractitionerRole, Device, Location refs
    others: set[str] = field(default_factory=set)  # known third-party refs
    serials: set[str] = field(default_factory=set)
    stations: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  # lowercased organisation / institution names
    other_serials: set[str] = field(default_factory=set)
    other_stations: set[str] = field(default_factory=set)
    other_names: set[str] = field(default_factory=set)

    def owns(self, ref: str) -> bool | None:
        """True: the practice's; False: a known third party's; None: unknown."""
        if ref in self.members or ref in self.orgs:
            return True
        return False if ref in self.others else None

    def owns_device(self, serial: str, station: str) -> bool | None:
        serial, station = serial.strip().lower(), station.strip().lower()
        if (serial and serial in self.serials) or (station and station in self.stations):
            return True
        if (serial and serial in self.other_serials) or (station and station in self.other_stations):
            return False
        return None

    def owns_institution(self, name: str) -> bool | None:
        """True: the practice's name; False: a known outside organisation's; None: a name nobody has."""
        key = _name_key(name)
        if not key:
            return None
        if key in {_name_key(n) for n in self.names}:
            return True
        return False if key in {_name_key(n) for n in self.other_names} else None


def _name_key(name: str) -> str:
    """Organisation names compared without case, punctuation or spacing ("Lakeside OMS, P.C." ~ "lakeside oms pc")."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


@dataclass
class Case:
    key: str
    practice: Practice
    index: Index
    claim: str = ""
    patient: str = ""
    patient_identifier: str = ""
    encounter: dict[str, Any] | None = None
    date: str = ""
    records: list[FhirResource] = field(default_factory=list)
    series: list[DicomSeries] = field(default_factory=list)
    meshes: list[SurfaceMesh] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    coverages: list[FhirResource] = field(default_factory=list)
    memo: dict[tuple, Any] = field(default_factory=dict, repr=False)  # per-case answers the engine reuses

    @property
    def encounter_ref(self) -> str:
        return f"Encounter/{self.encounter['id']}" if self.encounter else ""


# ---------------------------------------------------------------------------------------- assembly
def assemble(read: ReadResult, practice_id: str, claim: str | None, maps: Mappings) -> list[Case]:
    fhir_items = latest_versions([e for e in read.evidence if isinstance(e, FhirResource)])
    index = Index(fhir_items)
    practice = find_practice(index, practice_id, maps)
    cases = _group(read, fhir_items, index, practice)
    for case in cases:
        case.claim = claim or claim_form(case, maps)
    if cases and read.problems:
        cases[0].problems.extend(read.problems)
    return cases


def latest_versions(items: list[FhirResource]) -> list[FhirResource]:
    """One copy of each resource: the highest versionId, then lastUpdated, then content (stable)."""
    best: dict[str, FhirResource] = {}
    for item in items:
        current = best.get(item.ref)
        if current is None or _version_key(item) > _version_key(current):
            best[item.ref] = item
    return [best[k] for k in sorted(best)]


def _version_key(item: FhirResource) -> tuple:
    meta = item.resource.get("meta") or {}
    version = str(meta.get("versionId", ""))
    return (int(version) if version.isdigit() else -1, version, meta.get("lastUpdated", ""),
            json.dumps(item.resource, sort_keys=True))


def find_practice(index: Index, practice_id: str, maps: Mappings) -> Practice:
    practice = Practice(identifier=practice_id)
    system, _, value = practice_id.rpartition("|")
    for org in index.of_type("Organization"):
        if any(v == value and (not system or s == system) for s, v in fr.identifiers(org.resource)):
            practice.orgs.add(org.ref)
    if not practice.orgs and not practice_id:
        practice.orgs |= {index.canonical(fr.first_ref(e.resource.get("serviceProvider"))) for e in index.of_type("Encounter")} - {""}
    _add_members(index, practice)
    own = maps.settings.get("practice", {})
    practice.serials |= {s.lower() for s in own.get("device_serials", [])}
    practice.stations |= {s.lower() for s in own.get("station_names", [])}
    practice.names |= {s.lower() for s in own.get("institution_names", [])}
    return practice


def _add_members(index: Index, practice: Practice) -> None:
    for org in index.of_type("Organization"):
        name = str(org.resource.get("name", "")).lower()
        (practice.names if org.ref in practice.orgs else practice.other_names).add(name)
        if org.ref not in practice.orgs:
            practice.others.add(org.ref)
    for role in index.of_type("PractitionerRole"):
        mine = index.canonical(fr.first_ref(role.resource.get("organization"))) in practice.orgs
        target = practice.members if mine else practice.others
        target.add(role.ref)
        practitioner = index.canonical(fr.first_ref(role.resource.get("practitioner")))
        if practitioner:
            target.add(practitioner)
    for practitioner in index.of_type("Practitioner"):
        if practitioner.ref not in practice.members:
            practice.others.add(practitioner.ref)
    for device in index.of_type("Device"):
        _add_device(index, practice, device)
    for location in index.of_type("Location"):
        mine = index.canonical(fr.first_ref(location.resource.get("managingOrganization"))) in practice.orgs
        (practice.members if mine else practice.others).add(location.ref)
    practice.names.discard("")
    practice.other_names.discard("")


def _add_device(index: Index, practice: Practice, device: FhirResource) -> None:
    mine = index.canonical(fr.first_ref(device.resource.get("owner"))) in practice.orgs
    (practice.members if mine else practice.others).add(device.ref)
    serial = str(device.resource.get("serialNumber", "")).lower()
    names = {str(n.get("name", "")).lower() for n in device.resource.get("deviceName") or [] if isinstance(n, dict)}
    (practice.serials if mine else practice.other_serials).update({serial} - {""})
    (practice.stations if mine else practice.other_stations).update(names - {""})


def claim_form(case: Case, maps: Mappings) -> str:
    """Coverage.type DENTAL -> dental; any other active Coverage -> medical; else the default."""
    active = [c for c in case.coverages if c.resource.get("status", "active") == "active"]
    if any(c.get("code") == "DENTAL" for cov in active for c in fr.codings(cov.resource.get("type"))):
        return "dental"
    return "medical" if active else maps.settings.get("default_claim", "dental")


# ---------------------------------------------------------------------------------------- grouping
def _group(read: ReadResult, items: list[FhirResource], index: Index, practice: Practice) -> list[Case]:
    encounters = [e for e in items if e.type == "Encounter"]
    patients = _patient_lookup(items)
    cases: dict[str, Case] = {}

    def case_for(key: str) -> Case:
        if key not in cases:
            cases[key] = Case(key=key, practice=practice, index=index)
        return cases[key]

    single = len(encounters) <= 1
    for enc in encounters:
        case = case_for(enc.ref)
        case.encounter = enc.resource
    for item in items:
        if item.type in CLINICAL and item.resource.get("status") not in WITHDRAWN:
            case_for(_record_key(item, index, encounters, single)).records.append(item)
    study_cases = _study_cases(cases)
    for series in _unique(e for e in read.evidence if isinstance(e, DicomSeries)):
        key = study_cases.get(series.study_uid) or _series_key(series, patients, encounters, single, index)
        case_for(key).series.append(series)
    meshes = _unique(e for e in read.evidence if isinstance(e, SurfaceMesh))
    if not cases and meshes:
        case_for("Files/" + os.path.basename(os.path.dirname(os.path.abspath(meshes[0].source))))
    for mesh in meshes:
        _nearest(list(cases.values()), mesh.source).meshes.append(mesh)
    if single and len(cases) > 1:
        cases = dict([_merge_all(list(cases.values()))])
    for case in cases.values():
        _fill_identity(case, items, index)
    return [cases[k] for k in sorted(cases)]


def _unique(items) -> list:
    """Each series / mesh once, in a stable order, however often it was read."""
    return [item for _, item in sorted({(e.ref, e.source): e for e in items}.items())]


def _patient_lookup(items: list[FhirResource]) -> dict[str, str]:
    """DICOM PatientID / Patient.id / identifier value -> Patient reference."""
    out: dict[str, str] = {}
    for p in (i for i in items if i.type == "Patient"):
        out[p.resource.get("id", "")] = p.ref
        for _, value in fr.identifiers(p.resource):
            out[value] = p.ref
    return out


def _record_key(item: FhirResource, index: Index, encounters: list[FhirResource], single: bool) -> str:
    if single and encounters:
        return encounters[0].ref
    enc = fr.encounter_ref(item.resource)
    if enc:
        return index.canonical(enc)
    subject, day = index.canonical(fr.subject_ref(item.resource)), fr.day(item.resource)
    return _encounter_on(subject, day, encounters, index) or f"{subject or 'Patient/unknown'}|{day}"


def _encounter_on(patient: str, day: str, encounters: list[FhirResource], index: Index) -> str:
    for enc in encounters:
        if patient and index.canonical(fr.subject_ref(enc.resource)) == patient and fr.day(enc.resource) == day:
            return enc.ref
    return ""


def _study_cases(cases: dict[str, Case]) -> dict[str, str]:
    out = {}
    for key, case in cases.items():
        for rec in case.records:
            if rec.type == "ImagingStudy":
                for _, value in fr.identifiers(rec.resource):
                    out[value.removeprefix("urn:oid:")] = key
    return out


def _series_key(series: DicomSeries, patients: dict[str, str], encounters: list[FhirResource], single: bool,
                index: Index) -> str:
    if single and encounters:
        return encounters[0].ref
    patient = patients.get(series.patient_id, "")
    return _encounter_on(patient, series.study_date, encounters, index) or f"{patient or 'PatientID/' + series.patient_id}|{series.study_date}"


def _nearest(cases: list[Case], source: str) -> Case:
    """The case whose files share the longest folder prefix with this file (first by key on a tie)."""
    if len(cases) == 1:
        return cases[0]
    here = os.path.dirname(os.path.abspath(source))

    def shared(case: Case) -> int:
        paths = [os.path.abspath(x.source) for x in (*case.records, *case.series, *case.meshes)]
        return max((len(os.path.commonpath([here, os.path.dirname(p)])) for p in paths), default=0)

    return max(sorted(cases, key=lambda c: c.key), key=shared)


def _merge_all(cases: list[Case]) -> tuple[str, Case]:
    cases = sorted(cases, key=lambda c: (c.encounter is None, c.key))
    main = cases[0]
    for other in cases[1:]:
        main.records += other.records
        main.series += other.series
        main.meshes += other.meshes
    return main.key, main


def _fill_identity(case: Case, items: list[FhirResource], index: Index) -> None:
    subjects = [fr.subject_ref(r.resource) for r in case.records]
    if case.encounter:
        subjects.insert(0, fr.subject_ref(case.encounter))
    patient = next((index.canonical(s) for s in subjects if s), "")
    case.patient = patient if index.get(patient) else ""
    if not case.patient:
        case.patient_identifier = next((s.patient_id for s in case.series if s.patient_id), patient)
    dates = [fr.day(case.encounter)] if case.encounter else []
    dates += sorted(d for d in [fr.day(r.resource) for r in case.records] + [s.study_date for s in case.series] if d)
    case.date = next((d for d in dates if d), "")
    if "|" not in case.key and not case.key.startswith("Encounter/") and case.patient:
        case.key = f"{case.patient}|{case.date}"
    case.coverages = [c for c in items if c.type == "Coverage" and index.canonical(fr.subject_ref(c.resource)) == case.patient]
