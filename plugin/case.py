"""Case assembly: which evidence belongs to which patient and encounter, who the practice is, which claim form.

A case is one patient's encounter (contract section 1), and never spans two patients:
- every reference is first resolved through Bundle fullUrls, absolute URLs and conditional references
  (`resources.Resolver`), so the rest of the plugin reads plain "Type/id";
- a FHIR record's patient is its subject (or its encounter's); a DICOM series' patient is the FHIR
  Patient with an identifier equal to its PatientID (in the namespace of IssuerOfPatientID where the
  header gives one), else the Patient of the ImagingStudy with its StudyInstanceUID, else the
  PatientID itself (a patient of its own);
- records join their encounter; a record whose encounter (or study) belongs to another patient is a
  PatientMismatch problem, not billed; evidence without an encounter joins its patient's only
  encounter, else the encounter of that patient on the same day, else a case of that patient
  (one per patient when it has no encounter, one per day when it has several);
- evidence with no patient data (an STL, a series without PatientID, a record without subject or
  encounter) joins the only case there is, else the one case whose files share its folder (the
  nearest folder above it that holds any case's files holds that case's files only); otherwise it
  is an UnlinkedEvidence problem: never guessed.
The practice (contract section 2) is the Organization with the configured identifier, its
PractitionerRoles' practitioners, its Devices and Locations; anyone else is a third party.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any

from plugin import resources as fr
from plugin.errors import PatientMismatch, UnlinkedEvidence
from plugin.evidence.model import DicomSeries, FhirResource, Problem, ReadResult, SurfaceMesh
from plugin.evidence.versions import latest_versions
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
        parts = fr.ref_type(ref) and ref.split("/_history/")[0].rstrip("/").split("/")
        return self.by_ref.get("/".join(parts[-2:])) if parts and len(parts) >= 2 else None

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
    unmatched: bool = False  # an identifier was configured, the evidence names organisations, none carries it

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
    patient: str = ""  # a reference to the Patient ("Patient/x"), whether or not the resource was sent
    patient_identifier: str = ""  # otherwise "system|value" or a bare value (a DICOM PatientID)
    patient_assigner: str = ""  # the issuer's name where it is no URI (DICOM IssuerOfPatientID)
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
    """The cases the evidence holds. What could not be placed (another patient's encounter, evidence
    with no patient and several cases it could join) is a Problem of the first case, with read.problems."""
    fhir_items = resolve_references(latest_versions([e for e in read.evidence if isinstance(e, FhirResource)]))
    index = Index(fhir_items)
    practice = find_practice(index, practice_id, maps)
    cases, problems = _group(read, fhir_items, index, practice)
    for case in cases:
        case.claim = claim or claim_form(case, maps)
    if cases:
        cases[0].problems.extend([*read.problems, *problems])
    return cases


def resolve_references(items: list[FhirResource]) -> list[FhirResource]:
    """Copies of the resources with every reference rewritten to "Type/id" where its target was read."""
    resolver = fr.Resolver((i.ref, i.full_url, i.resource) for i in items)
    out = []
    for item in items:
        resource = resolver.rewrite(item.resource)
        out.append(item if resource is item.resource else replace(item, resource=resource))
    return out


def find_practice(index: Index, practice_id: str, maps: Mappings) -> Practice:
    practice = Practice(identifier=practice_id)
    system, _, value = practice_id.rpartition("|")
    for org in index.of_type("Organization"):
        if any(v == value and (not system or s == system) for s, v in fr.identifiers(org.resource)):
            practice.orgs.add(org.ref)
    if not practice.orgs and not practice_id:
        practice.orgs |= {index.canonical(fr.first_ref(e.resource.get("serviceProvider"))) for e in index.of_type("Encounter")} - {""}
    practice.unmatched = bool(practice_id) and not practice.orgs and _names_organisations(index)
    _add_members(index, practice)
    own = maps.settings.get("practice", {})
    practice.serials |= {s.lower() for s in own.get("device_serials", [])}
    practice.stations |= {s.lower() for s in own.get("station_names", [])}
    practice.names |= {s.lower() for s in own.get("institution_names", [])}
    return practice


def _names_organisations(index: Index) -> bool:
    """Does the input name any organisation (an Organization, or a reference one of the practice's links uses)?"""
    links = (("Encounter", "serviceProvider"), ("PractitionerRole", "organization"), ("Device", "owner"),
             ("Location", "managingOrganization"))
    return bool(index.of_type("Organization")) or any(
        fr.first_ref(item.resource.get(key)) for rtype, key in links for item in index.of_type(rtype))


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


# ---------------------------------------------------------------------------------------- patients
class Patients:
    """Whose evidence is it: a Patient reference, a logical identifier, a DICOM PatientID of no Patient sent,
    or "" (no patient data)."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.by_value: dict[str, list[tuple[str, dict]]] = {}
        for patient in index.of_type("Patient"):
            for ident in patient.resource.get("identifier") or []:
                if isinstance(ident, dict) and isinstance(ident.get("value"), str):
                    self.by_value.setdefault(ident["value"], []).append((patient.ref, ident))

    def of_record(self, res: dict) -> str:
        subject = fr.subject_ref(res)
        if subject:
            return self.index.canonical(subject)
        system, value = fr.logical_subject(res)
        if not value:
            return ""
        found = self.matching(value, system=system)
        return found[0] if len(found) == 1 else f"Identifier/{system}|{value}"

    def of_series(self, series: DicomSeries) -> tuple[str, list[str]]:
        """(patient key, []) or ("", the Patients it could be) when several Patients carry its PatientID."""
        if not series.patient_id:
            return "", []
        found = self.matching(series.patient_id, issuer=series.patient_issuer)
        if len(found) == 1:
            return found[0], []
        if found:
            return "", found
        issuer = f"^{series.patient_issuer}" if series.patient_issuer else ""
        return f"PatientID/{series.patient_id}{issuer}", []

    def matching(self, value: str, system: str = "", issuer: str = "") -> list[str]:
        return sorted({ref for ref, ident in self.by_value.get(value, []) if _same_namespace(ident, system, issuer)})


def _same_namespace(ident: dict, system: str, issuer: str) -> bool:
    """Does a Patient.identifier belong to this namespace (a FHIR system, or a DICOM IssuerOfPatientID)?
    Where either side names none, nothing contradicts the match."""
    own = str(ident.get("system", ""))
    if system:
        return not own or own == system
    if not issuer:
        return True
    assigner = ident.get("assigner") if isinstance(ident.get("assigner"), dict) else {}
    names = {own, own.removeprefix("urn:oid:"), str(assigner.get("display", "")),
             str((assigner.get("identifier") or {}).get("value", ""))} - {""}
    return not names or issuer in names or issuer_system(issuer) == own


def issuer_system(issuer: str) -> str:
    """IssuerOfPatientID as a FHIR Identifier.system: an OID -> urn:oid:..., a URI as it is; a name -> ""."""
    if re.fullmatch(r"[0-2](\.(0|[1-9][0-9]*))+", issuer):
        return f"urn:oid:{issuer}"
    return issuer if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:\S+$", issuer) else ""


# ---------------------------------------------------------------------------------------- grouping
class _Grouping:
    """Cases by key, the patient each belongs to, and the folders its evidence came from."""

    def __init__(self, practice: Practice, index: Index) -> None:
        self.practice, self.index = practice, index
        self.cases: dict[str, Case] = {}
        self.owner: dict[str, str] = {}  # case key -> patient key ("" while unknown)
        self.homes: dict[str, set[str]] = {}  # case key -> files of its evidence
        self.problems: list[Problem] = []

    def place(self, key: str, patient: str, source: str) -> Case:
        if key not in self.cases:
            self.cases[key] = Case(key=key, practice=self.practice, index=self.index)
        if patient and not self.owner.get(key):
            self.owner[key] = patient
        self.homes.setdefault(key, set()).add(source)
        return self.cases[key]

    def add(self, key: str, patient: str, item: FhirResource | DicomSeries | SurfaceMesh) -> None:
        case = self.place(key, patient, item.source)
        if isinstance(item, FhirResource):
            case.records.append(item)
        else:
            (case.series if isinstance(item, DicomSeries) else case.meshes).append(item)

    def report(self, error: type, item: FhirResource | DicomSeries | SurfaceMesh, message: str) -> None:
        where = f"{item.source}#{item.ref}" if isinstance(item, FhirResource) else item.source
        self.problems.append(Problem(where, error.__name__, message))


_NDJSON_LINE = re.compile(r"\.ndjson:\d+$")


def _folder(source: str) -> str:
    path = source.rsplit(":", 1)[0] if _NDJSON_LINE.search(source) else source
    return os.path.dirname(os.path.abspath(path))


def _group(read: ReadResult, items: list[FhirResource], index: Index, practice: Practice) -> tuple[list[Case], list[Problem]]:
    people, g = Patients(index), _Grouping(practice, index)
    loose: list[tuple[Any, str, str]] = []  # (evidence, patient, day): a patient but no encounter
    unplaced: list[Any] = []  # evidence with no patient data
    for enc in (e for e in items if e.type == "Encounter"):
        g.place(enc.ref, people.of_record(enc.resource), enc.source).encounter = enc.resource
    for rec in (i for i in items if i.type in CLINICAL and i.resource.get("status") not in WITHDRAWN):
        _place_record(g, people, rec, loose, unplaced)
    encounters: dict[str, list[str]] = {}  # patient -> its encounter cases
    for key, patient in sorted(g.owner.items()):
        encounters.setdefault(patient, []).append(key)
    _place_loose(g, loose, encounters)
    loose.clear()
    _place_series(g, people, _unique(e for e in read.evidence if isinstance(e, DicomSeries)), loose, unplaced)
    _place_loose(g, loose, encounters)
    unplaced += _unique(e for e in read.evidence if isinstance(e, SurfaceMesh))
    _place_unplaced(g, unplaced)
    for key, case in g.cases.items():
        case.meshes = one_per_content(case.meshes)
        _fill_identity(case, g.owner.get(key, ""), items, index)
    return sorted(g.cases.values(), key=lambda c: c.key), g.problems


def _place_record(g: _Grouping, people: Patients, rec: FhirResource, loose: list, unplaced: list) -> None:
    patient = people.of_record(rec.resource)
    enc = g.index.canonical(fr.encounter_ref(rec.resource))
    if not enc:
        (loose.append((rec, patient, fr.day(rec.resource))) if patient else unplaced.append(rec))
        return
    holder = g.owner.get(enc, "")
    if patient and holder and patient != holder:
        g.report(PatientMismatch, rec, f"its subject is {_shown(patient)} but its encounter {enc} is of "
                                       f"{_shown(holder)}: reported, not billed")
        return
    g.add(enc, patient, rec)


def _shown(patient: str) -> str:
    """A patient or case key fit for a message: resource references only, never a PatientID or identifier value."""
    return patient if fr.ref_type(patient) in ("Patient", "Group", "Encounter", "EpisodeOfCare") else "another patient"


def _place_series(g: _Grouping, people: Patients, series_list: list[DicomSeries], loose: list, unplaced: list) -> None:
    """A series joins the case of the ImagingStudy with its StudyInstanceUID unless its PatientID names
    another Patient; else it is evidence of its own patient (or of none)."""
    studies = {value.removeprefix("urn:oid:"): key for key, case in sorted(g.cases.items(), reverse=True)
               for rec in case.records if rec.type == "ImagingStudy" for _, value in fr.identifiers(rec.resource)}
    aliases: dict[str, str] = {}  # DICOM PatientID key -> the Patient its studies showed
    for series in sorted(series_list, key=lambda s: s.study_uid not in studies):
        patient, candidates = people.of_series(series)
        patient = aliases.get(patient, patient)
        key = studies.get(series.study_uid, "")
        holder = g.owner.get(key, "")
        unknown = not patient or patient.startswith("PatientID/")  # no Patient resource carries its PatientID
        if key and (not holder or patient == holder or holder in candidates or (unknown and not candidates)):
            if patient.startswith("PatientID/") and holder:
                aliases.setdefault(patient, holder)
            g.add(key, holder or patient, series)
        elif key:
            g.report(PatientMismatch, series, f"DICOM series {series.series_uid}: its PatientID is of another "
                                              f"patient than its study's case ({_shown(key.split('|')[0])}): reported, not billed")
        elif candidates:
            g.report(UnlinkedEvidence, series, f"DICOM series {series.series_uid}: its PatientID is carried by "
                                               f"{len(candidates)} Patients ({', '.join(candidates)}): reported as unlinked, not guessed")
        elif patient:
            loose.append((series, patient, series.study_date))
        else:
            unplaced.append(series)


def _place_loose(g: _Grouping, loose: list[tuple[Any, str, str]], encounters: dict[str, list[str]]) -> None:
    """Evidence of a known patient without an encounter: the patient's only encounter, else its encounter
    on that day, else the patient's own case (one per day when the patient has several encounters)."""
    for item, patient, day in sorted(loose, key=lambda x: (x[1], x[2], x[0].ref, x[0].source)):
        mine = encounters.get(patient, [])
        if len(mine) == 1:
            key = mine[0]
        elif mine:
            key = next((k for k in mine if fr.day(g.cases[k].encounter or {}) == day), f"{patient}|{day or 'undated'}")
        else:
            key = f"{patient}|"  # the patient's one case; its date is filled in with the rest
        g.add(key, patient, item)


def _place_unplaced(g: _Grouping, unplaced: list[Any]) -> None:
    """Evidence with no patient data: the only case, else the one case of its folder, else unlinked."""
    if not unplaced:
        return
    unplaced = sorted(unplaced, key=lambda x: (x.source, x.ref))
    if not g.cases:
        key = "Files/" + os.path.basename(_folder(unplaced[0].source))
        for item in unplaced:
            g.add(key, "", item)
        return
    homes = {key: {_folder(source) for source in sources} for key, sources in g.homes.items()}
    for item in unplaced:
        key = next(iter(homes)) if len(homes) == 1 else _folder_case(homes, _folder(item.source))
        if key:
            g.add(key, g.owner.get(key, ""), item)
        else:
            g.report(UnlinkedEvidence, item, f"no patient data, and {len(homes)} cases it could belong to "
                                             "(none alone in its folder): reported as unlinked, not guessed")


def _folder_case(homes: dict[str, set[str]], here: str) -> str:
    """The case whose evidence alone lies under the nearest folder above `here` that holds any case's files."""
    folder = here
    while True:
        inside = [key for key, folders in homes.items()
                  if any(f == folder or f.startswith(folder.rstrip(os.sep) + os.sep) for f in folders)]
        if inside:
            return inside[0] if len(inside) == 1 else ""
        parent = os.path.dirname(folder)
        if parent == folder:
            return ""
        folder = parent


def _unique(items) -> list:
    """Each series / mesh once, in a stable order, however often it was read."""
    return [item for _, item in sorted({(e.ref, e.source): e for e in items}.items())]


def one_per_content(meshes: list[SurfaceMesh]) -> list[SurfaceMesh]:
    """A scan counted once per case: of meshes with the same bytes (sha256), the one first by name is kept (so
    which copy arrived first does not matter); a mesh without a hash (facts stored before it was kept) by its file."""
    first: dict[str, SurfaceMesh] = {}
    for mesh in sorted(meshes, key=lambda m: (m.ref, m.source)):
        first.setdefault(mesh.sha256 or f"file:{mesh.source}", mesh)
    kept = {id(m) for m in first.values()}
    return [m for m in meshes if id(m) in kept]


def _fill_identity(case: Case, patient: str, items: list[FhirResource], index: Index) -> None:
    if fr.ref_type(patient) in ("Patient", "Group"):
        case.patient = patient
    elif patient.startswith("Identifier/"):
        case.patient_identifier = patient.removeprefix("Identifier/")
    else:
        series = next((s for s in case.series if s.patient_id), None)
        if series:
            system = issuer_system(series.patient_issuer)
            case.patient_identifier = f"{system}|{series.patient_id}" if system else series.patient_id
            case.patient_assigner = "" if system else series.patient_issuer
    dates = [fr.day(case.encounter)] if case.encounter else []
    dates += sorted(d for d in [fr.day(r.resource) for r in case.records] + [s.study_date for s in case.series] if d)
    case.date = next((d for d in dates if d), "")
    if case.key.endswith("|"):
        case.key = f"{case.key}{case.date}"
    case.coverages = [c for c in items if c.type == "Coverage" and case.patient
                      and index.canonical(fr.subject_ref(c.resource)) == case.patient]
