"""Writes the clinical test cases under tests/cases/<name>/: bundle.json (FHIR R4 Bundle), DICOM headers as
DICOM JSON (`*.dcm.json`, a list of instance datasets of one series, no pixel data), small binary STL meshes,
README.md (what the case is about) and expected.json (the contract's format, section 7, plus "rules": the
rule ids the case must fire, and "skipped": the skip reasons a bad-input case must report).

Run from the repository root:  .venv/bin/python tests/cases/make_files.py
Deterministic: UIDs are derived from the case name, meshes use fixed seeds, JSON is written sorted the same
way every time, so re-running it reproduces the committed files byte for byte. It never touches a case's
KNOWN_ISSUE.md (those are written by hand when the engine disagrees with the rules or the contract).

Every person, practice, device and identifier here is made up. The expected codes are written from
mappings/2026/rules.yaml and the contract (/work/shared/contract/README.md), never from the engine's output.
"""
from __future__ import annotations

import hashlib
import json
import uuid
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent.parent))

from tests.factories.dicom import dataset_json  # noqa: E402
from tests.factories.mesh import write_binary_stl  # noqa: E402
from tests.cases import cases_audit, cases_imaging, cases_patients, cases_terminology  # noqa: E402

WORKFLOW = "https://dwcoder.org/fhir/CodeSystem/workflow-step"
CDT = "http://www.ada.org/cdt"
CPT = "http://www.ama-assn.org/go/cpt"
NPI = "http://hl7.org/fhir/sid/us-npi"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SCT = "http://snomed.info/sct"
TZ = "-05:00"

SOP_CLASS = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "MR": "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
    "PX": "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",
    "XC": "1.2.840.10008.5.1.4.1.1.77.1.4",  # VL Photographic Image Storage
    "OT": "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image Storage
}

# E/M and oral evaluation codes: allowed (not needed) in cases that are not about the visit itself.
EVAL = ["D0140", "D0150", "D0160", "D0170", "D0180", "D9310",
        "99202", "99203", "99204", "99205", "99212", "99213", "99214", "99215",
        "99221", "99222", "99223", "99231", "99232", "99233",
        "99242", "99243", "99244", "99245", "99252", "99253", "99254", "99255", "99417", "99418", "G2212"]

# ------------------------------------------------------------------------------------ who is who
ORGS = {
    "lakeview": ("lakeview-omfs", "Lakeview Oral & Facial Surgery", "1528473063", "prov"),
    "harbor": ("harbor-point-os", "Harbor Point Oral Surgery Associates", "1762039588", "prov"),
    "summit": ("summit-facial", "Summit Facial Reconstruction Group", "1384607259", "prov"),
    "riverside": ("riverside-imaging", "Riverside Diagnostic Imaging Center", "1312468709", "prov"),
    "northgate": ("northgate-omr", "Northgate Oral & Maxillofacial Radiology", "", "prov"),
    "brightsmiles": ("bright-smiles-ortho", "Bright Smiles Orthodontics", "", "prov"),
    "precision": ("precision-dental-lab", "Precision Dental Laboratory", "", "other"),
    "stbrendan": ("st-brendan-hospital", "St. Brendan Regional Hospital", "1582046979", "prov"),
    "cranimed": ("cranimed-planning", "CraniaMed Surgical Planning", "", "bus"),
}
PRACTICE = {key: f"{NPI}|{ORGS[key][2]}" for key in ("lakeview", "harbor", "summit")}

# key: (id, family, given, NPI, organisation key, role)
PEOPLE = {
    "reyes": ("reyes", "Reyes", "Marisol", "1963258748", "lakeview", "Oral and maxillofacial surgeon"),
    "lindqvist": ("lindqvist", "Lindqvist", "Tobias", "1125784037", "lakeview", "Oral and maxillofacial surgeon"),
    "okonkwo": ("okonkwo", "Okonkwo", "Chidi", "", "lakeview", "Surgical assistant and radiology technician"),
    "asante": ("asante", "Asante", "Kwame", "1670932411", "harbor", "Oral and maxillofacial surgeon"),
    "natarajan": ("natarajan", "Natarajan", "Priya", "1847362591", "harbor", "Oral and maxillofacial surgeon"),
    "vasquez": ("vasquez", "Vasquez", "Elena", "1209584766", "summit", "Oral and maxillofacial surgeon"),
    "cole": ("cole", "Cole", "Hannah", "1456209836", "northgate", "Oral and maxillofacial radiologist"),
    "haddad": ("haddad", "Haddad", "Omar", "1739580268", "brightsmiles", "Orthodontist"),
    "ferreira": ("ferreira", "Ferreira", "Paulo", "", "riverside", "Radiologist"),
    "nakamura": ("nakamura", "Nakamura", "Ken", "", "stbrendan", "Neuroradiologist"),
    "brandt": ("brandt", "Brandt", "Lena", "", "precision", "Dental laboratory technician"),
    "moreau": ("moreau", "Moreau", "Julien", "", "cranimed", "Biomedical engineer"),
}

# key: (id, model name, station name or "", serial, manufacturer, type text, owner key)
DEVICES = {
    "lv-cbct": ("lv-cbct", "CS 9600", "LVOFS-CBCT1", "CS96-20417", "Carestream Dental", "Cone beam CT unit", "lakeview"),
    "lv-pan": ("lv-pan", "ProMax 2D S3", "LVOFS-PAN1", "PMX2-88013", "Planmeca", "Panoramic and cephalometric X-ray unit", "lakeview"),
    "lv-trios": ("lv-trios", "TRIOS 5", "", "TR5-4410927", "3Shape", "Intraoral scanner", "lakeview"),
    "lv-printer": ("lv-printer", "Form 3B+", "", "F3B-PLUM-2291", "Formlabs", "3D printer", "lakeview"),
    "lv-ws": ("lv-ws", "LV-PLAN-02", "LV-PLAN-02", "WS-LV-0202", "Dell Precision", "3D planning workstation", "lakeview"),
    "lv-xguide": ("lv-xguide", "X-Guide", "", "XG-1187", "Nobel Biocare", "Dynamic navigation system", "lakeview"),
    "hp-cbct": ("hp-cbct", "i-CAT FLX V17", "HPOSA-ICAT", "ICAT-FLX-30551", "Imaging Sciences International", "Cone beam CT unit", "harbor"),
    "hp-pan": ("hp-pan", "CS 8100SC", "HPOSA-PAN", "CS81SC-61174", "Carestream Dental", "Panoramic and cephalometric X-ray unit", "harbor"),
    "hp-medit": ("hp-medit", "Medit i700", "", "MI7-220184", "Medit", "Intraoral scanner", "harbor"),
    "hp-t710": ("hp-t710", "Medit T710", "", "T710-05521", "Medit", "Desktop model scanner", "harbor"),
    "hp-printer": ("hp-printer", "SprintRay Pro 95", "", "SR95-11873", "SprintRay", "3D printer", "harbor"),
    "hp-ws": ("hp-ws", "HP-3DPLAN-1", "HP-3DPLAN-1", "WS-HP-0001", "HP", "3D planning workstation", "harbor"),
    "su-ct": ("su-ct", "SOMATOM go.Now", "SUMMIT-CT1", "SGN-107733", "Siemens Healthineers", "Computed tomography scanner", "summit"),
    "su-cbct": ("su-cbct", "NewTom VGi evo", "SUMMIT-CBCT", "NT-VGI-6620", "Cefla", "Cone beam CT unit", "summit"),
    "su-artec": ("su-artec", "Artec Space Spider", "", "ASS-19204", "Artec 3D", "Handheld structured-light scanner", "summit"),
    "su-ws": ("su-ws", "SU-VSP-WS", "SU-VSP-WS", "WS-SU-0311", "Lenovo", "3D planning workstation", "summit"),
    "su-printer": ("su-printer", "Form 4B", "", "F4B-ORCA-0412", "Formlabs", "3D printer", "summit"),
    "riverside-ct": ("riverside-ct", "SOMATOM go.Up", "RDI-CT2", "SGU-558120", "Siemens Healthineers", "Computed tomography scanner", "riverside"),
    "riverside-cbct": ("riverside-cbct", "ProMax 3D Max", "RDI-CBCT1", "PM3D-MAX-7719", "Planmeca", "Cone beam CT unit", "riverside"),
    "stbrendan-pan": ("stbrendan-pan", "ProMax 2D S2", "SBRH-PAN1", "PMX2-40177", "Planmeca", "Panoramic X-ray unit", "stbrendan"),
    "stbrendan-ct": ("stbrendan-ct", "Revolution EVO", "SBRH-CT3", "GE-REVO-44821", "GE Healthcare", "Computed tomography scanner", "stbrendan"),
    "lab-printer": ("lab-printer", "Asiga MAX UV", "", "ASG-3319", "Asiga", "3D printer", "precision"),
    "cranimed-ws": ("cranimed-ws", "CraniaMed VSP workstation", "CM-VSP-09", "CM-VSP-0911", "CraniaMed", "Virtual surgical planning workstation", "cranimed"),
    "bs-itero": ("bs-itero", "iTero Element 5D", "", "ITE5D-77120", "Align Technology", "Intraoral scanner", "brightsmiles"),
    "bs-pan": ("bs-pan", "Orthophos S", "BSO-PAN", "ORS-22871", "Dentsply Sirona", "Panoramic and cephalometric X-ray unit", "brightsmiles"),
}


def uid(*parts: str) -> str:
    """A stable DICOM UID (2.25 + a decimal number derived from the names)."""
    return "2.25." + str(int(hashlib.sha256("/".join(parts).encode()).hexdigest()[:30], 16))


def _uuid(*parts: str) -> str:
    return str(uuid.UUID(hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]))


def when(day: str, hhmm: str) -> str:
    return f"{day}T{hhmm}:00{TZ}"


def ref(rtype: str, rid: str) -> dict:
    return {"reference": f"{rtype}/{rid}"}


# ------------------------------------------------------------------------------------ one case
class Case:
    def __init__(self, name: str, about: str) -> None:
        self.name, self.about = name, about
        self.entries: list[dict] = []
        self.ids: set[str] = set()
        self.writers: list[Callable[[Path], None]] = []
        self.patient_id = self.mrn = self.patient_name = self.day = ""
        self.encounter_id = ""
        self.expected: dict = {}

    # -------------------------------------------------------------------------- resources
    def add(self, resource: dict) -> str:
        key = f"{resource['resourceType']}/{resource['id']}"
        if key not in self.ids:
            self.ids.add(key)
            self.entries.append(resource)
        return key

    def patient(self, pid: str, family: str, given: str, birth: str, gender: str) -> None:
        self.patient_id, self.mrn, self.patient_name = pid, f"MRN-{pid.upper()}", f"{family}^{given}"
        self.add({"resourceType": "Patient", "id": pid,
                  "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.9901.7", "value": self.mrn}],
                  "name": [{"family": family, "given": [given]}], "gender": gender, "birthDate": birth})

    def org(self, key: str) -> str:
        oid, name, npi, kind = ORGS[key]
        res: dict[str, Any] = {"resourceType": "Organization", "id": oid}
        if npi:
            res["identifier"] = [{"system": NPI, "value": npi}]
        res["name"] = name
        res["type"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": kind}]}]
        return self.add(res)

    def person(self, key: str) -> str:
        pid, family, given, npi, org, role = PEOPLE[key]
        org_ref = self.org(org)
        res: dict[str, Any] = {"resourceType": "Practitioner", "id": pid}
        if npi:
            res["identifier"] = [{"system": NPI, "value": npi}]
        res["name"] = [{"family": family, "given": [given]}]
        self.add(res)
        self.add({"resourceType": "PractitionerRole", "id": f"{pid}-role", "practitioner": ref("Practitioner", pid),
                  "organization": {"reference": org_ref}, "code": [{"text": role}]})
        return f"Practitioner/{pid}"

    def device(self, key: str) -> str:
        did, model, station, serial, maker, kind, owner = DEVICES[key]
        names = [{"name": model, "type": "model-name"}]
        if station and station != model:
            names.append({"name": station, "type": "user-friendly-name"})
        return self.add({"resourceType": "Device", "id": did, "type": {"text": kind}, "manufacturer": maker,
                         "serialNumber": serial, "deviceName": names, "owner": {"reference": self.org(owner)}})

    def encounter(self, eid: str, day: str, start: str, minutes: int, provider: str, participant: str,
                  cls: str = "AMB", status: str | None = None, length: int | None | str = "period",
                  reason: str = "") -> None:
        """`length`: "period" (the default) writes Encounter.length equal to the period; None leaves it out."""
        self.day, self.encounter_id = day, eid
        begin = datetime.fromisoformat(when(day, start))
        res: dict[str, Any] = {"resourceType": "Encounter", "id": eid, "status": "finished",
                               "class": {"system": ACT, "code": cls}}
        if status:
            res["type"] = [{"coding": [{"system": WORKFLOW, "code": status}]}]
        res["subject"] = ref("Patient", self.patient_id)
        res["participant"] = [{"individual": {"reference": self.person(participant)}}]
        res["period"] = {"start": begin.isoformat(), "end": (begin + timedelta(minutes=minutes)).isoformat()}
        if length is not None:
            value = minutes if length == "period" else length
            res["length"] = {"value": value, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"}
        if reason:
            res["reasonCode"] = [{"text": reason}]
        res["serviceProvider"] = {"reference": self.org(provider)}
        self.add(res)

    def coverage(self, cid: str, kind: str, payor: str) -> None:
        self.add({"resourceType": "Coverage", "id": cid, "status": "active",
                  "type": {"coding": [{"system": ACT, "code": kind}]},
                  "beneficiary": ref("Patient", self.patient_id), "payor": [{"display": payor}]})

    def _clinical(self, res: dict) -> dict:
        res["subject"] = ref("Patient", self.patient_id)
        res["encounter"] = ref("Encounter", self.encounter_id)
        return res

    def procedure(self, pid: str, at: str, step: str | None = None, code: tuple[str, str, str] | None = None,
                  by: tuple[str, ...] = (), used: tuple[str, ...] = (), note: str = "", text: str = "") -> str:
        coding = {"system": WORKFLOW, "code": step} if step else {"system": code[0], "code": code[1], "display": code[2]}
        res = self._clinical({"resourceType": "Procedure", "id": pid, "status": "completed",
                              "code": {"coding": [coding], **({"text": text} if text else {})}})
        res["performedDateTime"] = when(self.day, at)
        if by:
            res["performer"] = [{"actor": {"reference": self.person(p)}} for p in by]
        if used:
            res["usedReference"] = [{"reference": self.device(d)} for d in used]
        if note:
            res["note"] = [{"text": note}]
        return self.add(res)

    def study(self, sid: str, at: str, study_uid: str, series: list[dict], interpreter: tuple[str, ...] = (),
              description: str = "") -> str:
        """`series`: dicts with uid, modality, description, and optional n (instances), body (SNOMED code, text),
        performer (person key)."""
        out = []
        for number, s in enumerate(series, start=1):
            item: dict[str, Any] = {"uid": s["uid"], "number": number,
                                    "modality": {"system": DCM, "code": s["modality"]},
                                    "description": s["description"], "numberOfInstances": s.get("n", 1)}
            if s.get("body"):
                item["bodySite"] = {"system": SCT, "code": s["body"][0], "display": s["body"][1]}
            if s.get("performer"):
                item["performer"] = [{"actor": {"reference": self.person(s["performer"])}}]
            out.append(item)
        res = self._clinical({"resourceType": "ImagingStudy", "id": sid,
                              "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study_uid}"}],
                              "status": "available",
                              "modality": [{"system": DCM, "code": m} for m in dict.fromkeys(s["modality"] for s in series)]})
        res["started"] = when(self.day, at)
        if interpreter:
            res["interpreter"] = [{"reference": self.person(p)} for p in interpreter]
        if description:
            res["description"] = description
        res["numberOfSeries"] = len(out)
        res["series"] = out
        return self.add(res)

    def report(self, rid: str, at: str, study: str, by: str, conclusion: str, title: str) -> str:
        res = self._clinical({"resourceType": "DiagnosticReport", "id": rid, "status": "final",
                              "code": {"text": title}})
        res["effectiveDateTime"] = when(self.day, at)
        res["performer"] = [{"reference": self.person(by)}]
        res["imagingStudy"] = [{"reference": study}]
        res["conclusion"] = conclusion
        return self.add(res)

    def stl_document(self, did: str, at: str, title: str, description: str, url: str) -> str:
        res = {"resourceType": "DocumentReference", "id": did, "status": "current",
               "type": {"text": "3D surface scan"}, "subject": ref("Patient", self.patient_id),
               "date": when(self.day, at), "description": description,
               "content": [{"attachment": {"contentType": "model/stl", "url": url, "title": title}}],
               "context": {"encounter": [ref("Encounter", self.encounter_id)]}}
        return self.add(res)

    # -------------------------------------------------------------------------- files
    def dicom(self, filename: str, *, study_uid: str, series_uid: str, modality: str, slices: int = 1,
              size: int = 8, spacing: float = 1.0, step: float | None = None, **tags: Any) -> None:
        """A DICOM JSON file: `slices` datasets of one series. 3D when `step` is given (axial slices `step` mm
        apart), else 2D images (no position, orientation or thickness). No pixel data."""
        items = []
        for i in range(slices):
            values: dict[str, Any] = {
                "SOPClassUID": SOP_CLASS[modality], "SOPInstanceUID": f"{series_uid}.{i + 1}",
                "StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid, "Modality": modality,
                "PatientName": self.patient_name, "PatientID": self.mrn,
                "StudyDate": self.day.replace("-", ""), "SeriesDate": self.day.replace("-", ""),
                "InstanceNumber": i + 1, "Rows": size, "Columns": size, "PixelSpacing": [spacing, spacing],
            }
            if step is None:
                values.update(ImagePositionPatient=None, ImageOrientationPatient=None, SliceThickness=None,
                              ImageType=["ORIGINAL", "PRIMARY"])
            else:
                values.update(ImagePositionPatient=[-size * spacing / 2, -size * spacing / 2, round(i * step, 3)],
                              ImageOrientationPatient=[1, 0, 0, 0, 1, 0], SliceThickness=step)
            values.update(tags)
            items.append(dataset_json(**values))

        def write(folder: Path) -> None:
            lines = (json.dumps(item, sort_keys=True, separators=(",", ":")) for item in items)
            (folder / filename).write_text("[\n" + ",\n".join(lines) + "\n]\n")

        self.writers.append(write)

    def stl(self, filename: str, header: str, extent_mm: tuple[float, float, float], seed: int,
            triangles: int = 36) -> None:
        def write(folder: Path) -> None:
            write_binary_stl(folder / filename, header, triangles, extent_mm=extent_mm, seed=seed)

        self.writers.append(write)

    # -------------------------------------------------------------------------- expectations
    def expect(self, practice: str, rules: list[str], dental: dict | None = None, medical: dict | None = None,
               skipped: list[str] | None = None) -> None:
        exp: dict[str, Any] = {"practice": PRACTICE[practice]}
        if dental is not None:
            exp["dental"] = dental
        if medical is not None:
            exp["medical"] = medical
        exp["rules"] = sorted(rules)
        if skipped:
            exp["skipped"] = skipped
        self.expected = exp

    def bundle(self) -> dict:
        order = ["Patient", "Organization", "Practitioner", "PractitionerRole", "Device", "Coverage", "Encounter",
                 "ImagingStudy", "DiagnosticReport", "DocumentReference", "Procedure"]
        entries = sorted(self.entries, key=lambda r: order.index(r["resourceType"]))
        return {"resourceType": "Bundle", "id": f"{self.name}-bundle", "type": "collection",
                "entry": [{"fullUrl": f"urn:uuid:{_uuid(self.name, r['resourceType'], r['id'])}", "resource": r}
                          for r in entries]}


def claim(required: list = (), one_of: list = (), optional: list | None = None, forbidden: list = (),
          notices: list = ()) -> dict:
    """One claim form's expectations; `required` items are (code, [modifiers], quantity or None)."""
    return {"required": [[c, list(m), q] for c, m, q in required],
            "one_of": [[[c, list(m), q] for c, m, q in group] for group in one_of],
            "optional": list(EVAL if optional is None else optional),
            "forbidden": list(forbidden), "notices": list(notices)}


CASES: list[Callable[[], Case]] = []


def case(fn: Callable[[Case], None]) -> Callable[[Case], None]:
    def build() -> Case:
        name = fn.__name__.removeprefix("case_").replace("_", "-")
        c = Case(name, (fn.__doc__ or "").strip())
        fn(c)
        return c

    CASES.append(build)
    return fn


# ------------------------------------------------------------------------------------ imaging helpers
def _device_tags(device: str, institution: str | None) -> dict[str, Any]:
    _, model, station, serial, maker, _, owner = DEVICES[device]
    return {"Manufacturer": maker, "ManufacturerModelName": model, "StationName": station or None,
            "DeviceSerialNumber": serial, "InstitutionName": institution or ORGS[owner][1]}


def volume(c: Case, filename: str, device: str, study_uid: str, series_uid: str, *, diameter: float, height: float,
           description: str, body: str | None = None, slices: int = 5, recon: bool = False,
           institution: str | None = None, modality: str = "CT", **tags: Any) -> None:
    """A CT / CBCT / MR volume: `slices` axial slices (height = slices x step), 8 x 8 pixels across `diameter`
    (or ReconstructionDiameter when `recon`)."""
    c.dicom(filename, study_uid=study_uid, series_uid=series_uid, modality=modality, slices=slices, size=8,
            spacing=round(diameter / 8, 4), step=round(height / slices, 4), SeriesDescription=description,
            BodyPartExamined=body, ReconstructionDiameter=diameter if recon else None,
            **{**_device_tags(device, institution), **tags})


def flat(c: Case, filename: str, device: str | None, study_uid: str, series_uid: str, *, modality: str,
         description: str, images: int = 1, body: str | None = None, institution: str | None = None,
         derived: bool = False, **tags: Any) -> None:
    """2D images (panoramic, cephalometric, photographs) or a derived series (renderings), one series."""
    who = _device_tags(device, institution) if device else {"InstitutionName": institution}
    if derived:
        tags["ImageType"] = ["DERIVED", "SECONDARY"]
    c.dicom(filename, study_uid=study_uid, series_uid=series_uid, modality=modality, slices=images, size=8,
            spacing=0.1, SeriesDescription=description, BodyPartExamined=body, **{**who, **tags})


# ==================================================================================== I. visits (E/M)
@case
def case_em_new_patient_prolonged(c: Case) -> None:
    """New patient seen 95 minutes in the office (Encounter.length): 99205 plus prolonged time 99417 x2 (each
    full 15 minutes beyond 60); D0150 comprehensive oral evaluation on a dental claim."""
    c.patient("pt-solberg", "Solberg", "Ingrid", "1971-05-11", "female")
    c.encounter("enc-solberg-1", "2026-02-03", "08:30", 95, "lakeview", "reyes", status="new-patient",
                reason="Progressive facial asymmetry and open bite; evaluation for orthognathic surgery")
    c.procedure("proc-solberg-eval", "08:40", step="oral-evaluation", by=("reyes",),
                note="Comprehensive history, TMJ and occlusal examination, review of outside records, counselling.")
    c.expect("lakeview", ["DWC-EVAL-002", "DWC-EVAL-010", "DWC-EVAL-030"],
             dental=claim([("D0150", [], 1)], optional=[], forbidden=["D0140", "D0160"]),
             medical=claim([("99205", [], 1), ("99417", [], 2)], optional=[], forbidden=["99204", "G2212"]))


@case
def case_em_established_prolonged(c: Case) -> None:
    """Established patient, 70 minutes (Encounter.length) going over a pathology result and treatment options:
    99215 plus 99417 x2 (each full 15 minutes beyond 40); D0140 on a dental claim."""
    c.patient("pt-achterberg", "Achterberg", "Willem", "1958-09-30", "male")
    c.encounter("enc-achterberg-4", "2026-02-17", "13:00", 70, "lakeview", "lindqvist", status="established-patient",
                reason="Biopsy result (ameloblastoma, left mandible): discussion of resection and reconstruction")
    c.expect("lakeview", ["DWC-EVAL-003", "DWC-EVAL-011", "DWC-EVAL-031"],
             dental=claim([("D0140", [], 1)], optional=[], forbidden=["D0150", "D0160"]),
             medical=claim([("99215", [], 1), ("99417", [], 2)], optional=[], forbidden=["99214"]))


@case
def case_em_office_consultation_prolonged(c: Case) -> None:
    """Office consultation requested by the orthodontist, 85 minutes: 99245 plus 99417 x2 (beyond 55 min);
    D0140 on a dental claim: the record does not show the evaluation's scope (D0160 offered as the alternative)."""
    c.patient("pt-mbeki", "Mbeki", "Thandiwe", "2005-01-19", "female")
    c.encounter("enc-mbeki-1", "2026-03-02", "10:00", 85, "harbor", "asante", status="consultation",
                reason="Consultation requested by Dr. Haddad: skeletal class III, surgical versus camouflage treatment")
    c.person("haddad")
    c.expect("harbor", ["DWC-EVAL-003", "DWC-EVAL-012", "DWC-EVAL-032"],
             dental=claim([("D0140", [], 1)], optional=[], forbidden=["D0150", "D0160", "D9310"],
                          notices=["documentation-required"]),
             medical=claim([("99245", [], 1), ("99417", [], 2)], optional=[], forbidden=["99205", "99244"]))


@case
def case_em_office_consultation_brief(c: Case) -> None:
    """Office consultation of 35 minutes requested by a general dentist: 99243; D0140 on a dental claim (scope not
    recorded)."""
    c.patient("pt-castellanos", "Castellanos", "Rafael", "1986-07-04", "male")
    c.encounter("enc-castellanos-1", "2026-03-05", "15:20", 35, "harbor", "natarajan", status="consultation",
                reason="Referred for opinion on a radiolucency distal to tooth 31")
    c.expect("harbor", ["DWC-EVAL-003", "DWC-EVAL-012"],
             dental=claim([("D0140", [], 1)], optional=[], forbidden=["D0160"], notices=["documentation-required"]),
             medical=claim([("99243", [], 1)], optional=[], forbidden=["99417"]))


@case
def case_em_inpatient_consultation_prolonged(c: Case) -> None:
    """Inpatient consultation at the hospital (Encounter.class IMP), 110 minutes: 99255 plus 99418 x2 (beyond
    80 min); D0140 on a dental claim (scope not recorded)."""
    c.patient("pt-oyelaran", "Oyelaran", "Folake", "1949-12-02", "female")
    c.encounter("enc-oyelaran-ip", "2026-04-08", "16:00", 110, "stbrendan", "vasquez", cls="IMP", status="consultation",
                reason="Medicine service asks for evaluation of bisphosphonate-related osteonecrosis of the jaw")
    c.expect("summit", ["DWC-EVAL-003", "DWC-EVAL-013", "DWC-EVAL-033"],
             dental=claim([("D0140", [], 1)], optional=[], forbidden=["D0160"], notices=["documentation-required"]),
             medical=claim([("99255", [], 1), ("99418", [], 2)], optional=[], forbidden=["99245", "99417"]))


@case
def case_em_initial_hospital_care(c: Case) -> None:
    """Admission of a new patient with a mandible fracture, 60 minutes on the ward: hospital care is outside the
    automatic E/M families (contract: office visits and consultations), so a hospital-visit notice names
    99221-99223 for the coder; D0140 on a dental claim (the admission note does not show a comprehensive
    evaluation: a new patient alone is not D0150)."""
    c.patient("pt-dubois", "Dubois", "Mathis", "1999-03-27", "male")
    c.encounter("enc-dubois-adm", "2026-04-11", "22:10", 60, "stbrendan", "vasquez", cls="IMP", status="new-patient",
                reason="Assault; displaced fracture of the left mandibular angle, admitted for open reduction")
    c.coverage("cov-dubois-med", "EHCPOL", "Evergreen Health Plan")
    c.expect("summit", ["DWC-EVAL-003", "DWC-EVAL-014"],
             dental=claim([("D0140", [], 1)], optional=[], forbidden=["D0150"]),
             medical=claim([], optional=[], forbidden=["99204", "99221", "99222", "99223"], notices=["hospital-visit"]))


@case
def case_em_emergency_department(c: Case) -> None:
    """Emergency department visit for a facial injury, 30 minutes: ED codes have no time levels, so a
    hospital-visit notice names 99281-99285 for the coder; D0140 on a dental claim."""
    c.patient("pt-dubois", "Dubois", "Mathis", "1999-03-27", "male")
    c.encounter("enc-dubois-ed", "2026-04-11", "20:30", 30, "stbrendan", "vasquez", cls="EMER",
                status="established-patient", reason="Facial injury after an assault, seen in the emergency department")
    c.expect("summit", ["DWC-EVAL-003", "DWC-EVAL-017"],
             dental=claim([("D0140", [], 1)], optional=[]),
             medical=claim([], optional=[], forbidden=["99213", "99231", "99283"], notices=["hospital-visit"]))


@case
def case_em_time_below_minimum(c: Case) -> None:
    """New patient seen for 12 minutes only: below the 15-minute minimum of 99202, so no E/M by time (notice
    time-not-met); the dental claim still has the evaluation, D0140 (a brief check: no comprehensive scope recorded)."""
    c.patient("pt-lindgren", "Lindgren", "Astrid", "1994-10-15", "female")
    c.encounter("enc-lindgren-1", "2026-05-06", "11:48", 12, "harbor", "asante", status="new-patient",
                reason="Brief check of a dry socket reported by the patient's dentist")
    c.expect("harbor", ["DWC-EVAL-003", "DWC-EVAL-010"],
             dental=claim([("D0140", [], 1)], optional=[], forbidden=["D0150"]),
             medical=claim([], optional=[], forbidden=["99202", "99212"], notices=["time-not-met"]))


@case
def case_em_time_from_period(c: Case) -> None:
    """Established patient, no Encounter.length recorded: the 35-minute encounter period gives 99214, flagged
    documentation-required (the practitioner's total time is not documented)."""
    c.patient("pt-nakashima", "Nakashima", "Emi", "1979-02-08", "female")
    c.encounter("enc-nakashima-3", "2026-05-12", "09:00", 35, "lakeview", "reyes", status="established-patient",
                length=None, reason="Follow-up of paresthesia of the lower lip after third molar removal")
    c.expect("lakeview", ["DWC-EVAL-003", "DWC-EVAL-020"],
             dental=claim([("D0140", [], 1)], optional=[]),
             medical=claim([("99214", [], 1)], optional=[], notices=["documentation-required"]))


@case
def case_em_status_unknown(c: Case) -> None:
    """An oral evaluation with 25 minutes recorded but no new/established/consultation type on the Encounter:
    D0140 on a dental claim; no E/M family can be chosen on a medical claim (documentation-required)."""
    c.patient("pt-okafor-b", "Okafor", "Bayo", "1990-06-21", "male")
    c.encounter("enc-okafor-1", "2026-05-19", "14:00", 25, "harbor", "natarajan",
                reason="Swelling right submandibular region")
    c.procedure("proc-okafor-eval", "14:05", step="oral-evaluation", by=("natarajan",),
                note="Limited evaluation: fluctuant swelling, tooth 46 non-vital.")
    c.expect("harbor", ["DWC-EVAL-002", "DWC-EVAL-021"],
             dental=claim([("D0140", [], 1)], optional=[]),
             medical=claim([], optional=[], forbidden=["99202", "99203", "99212", "99213"],
                           notices=["documentation-required"]))


# ==================================================================================== II. records and 2D imaging
@case
def case_orthognathic_records(c: Case) -> None:
    """Orthognathic records visit: 6 photographs, a lateral ceph taken and traced in the office, alginate
    impressions poured in stone (conventional casts), facebow-mounted casts with occlusion analysis."""
    c.patient("pt-haugen", "Haugen", "Sigrid", "2003-08-14", "female")
    c.encounter("enc-haugen-rec", "2026-01-20", "09:00", 45, "lakeview", "lindqvist", status="new-patient",
                reason="Pre-surgical orthodontic/orthognathic records")
    photo_study, photo_series = uid(c.name, "photo-study"), uid(c.name, "photo-series")
    flat(c, "photographs.dcm.json", None, photo_study, photo_series, modality="XC", images=6,
         description="Extraoral and intraoral clinical photographs", institution=ORGS["lakeview"][1],
         Manufacturer="Canon", ManufacturerModelName="EOS R10")
    c.study("img-haugen-photos", "09:10", photo_study, [{"uid": photo_series, "modality": "XC", "n": 6,
            "description": "Extraoral and intraoral clinical photographs", "performer": "okonkwo"}])
    ceph_study, ceph_series = uid(c.name, "ceph-study"), uid(c.name, "ceph-series")
    c.device("lv-pan")
    flat(c, "ceph.dcm.json", "lv-pan", ceph_study, ceph_series, modality="DX", body="SKULL",
         description="Lateral cephalometric")
    study = c.study("img-haugen-ceph", "09:20", ceph_study, [{"uid": ceph_series, "modality": "DX",
                    "description": "Lateral cephalometric"}], interpreter=("lindqvist",))
    c.report("rep-haugen-ceph", "10:30", study, "lindqvist", "Class III skeletal pattern, ANB -4 degrees, mandibular "
             "prognathism with maxillary hypoplasia.", "Cephalometric analysis")
    c.procedure("proc-haugen-casts", "09:30", step="conventional-impression-cast", by=("okonkwo",),
                note="Alginate impressions of both arches, poured in type III stone, bite registration.")
    c.procedure("proc-haugen-occlusion", "10:00", step="occlusion-analysis", by=("lindqvist",),
                note="Facebow transfer, casts mounted on a semi-adjustable articulator, occlusal analysis.")
    c.expect("lakeview", ["DWC-DIAG-001", "DWC-DIAG-002", "DWC-DIAG-003", "DWC-IMG-003", "DWC-IMG-004"],
             dental=claim([("D0350", [], 6), ("D0340", [], 1), ("D0470", [], 1), ("D9950", [], 1)],
                          forbidden=["D0702", "D0801", "D0802", "D0396"]),
             medical=claim([("70350", [], 1), ("D0350", [], 6), ("D0470", [], 1), ("D9950", [], 1)],
                           forbidden=["D0340", "D0801", "D0396"]))


@case
def case_ceph_captured_for_orthodontist(c: Case) -> None:
    """The surgeon's office takes a lateral ceph; the referring orthodontist traces and reports it: capture only
    (D0702 dental, 70350-TC medical)."""
    c.patient("pt-rossi", "Rossi", "Giulia", "2008-11-03", "female")
    c.encounter("enc-rossi-2", "2026-06-09", "08:15", 20, "harbor", "asante", status="established-patient",
                reason="Progress records during pre-surgical orthodontics")
    c.device("hp-pan")
    study_uid, series_uid = uid(c.name, "study"), uid(c.name, "ceph")
    flat(c, "ceph.dcm.json", "hp-pan", study_uid, series_uid, modality="DX", body="SKULL",
         description="Lateral ceph")
    study = c.study("img-rossi-ceph", "08:20", study_uid, [{"uid": series_uid, "modality": "DX",
                    "description": "Lateral ceph"}])
    c.report("rep-rossi-ceph", "17:00", study, "haddad",
             "Tracing: incisors decompensated, ready for surgery.", "Cephalometric tracing")
    c.expect("harbor", ["DWC-IMG-003", "DWC-IMG-004"],
             dental=claim([("D0702", [], 1)], forbidden=["D0340", "D0391"]),
             medical=claim([("70350", ["TC"], 1)], forbidden=["D0702"]))


@case
def case_outside_pano_and_ceph_read(c: Case) -> None:
    """The orthodontist's office took a panoramic and a ceph; the surgeon interprets both and writes the
    report: interpretation only (D0391 x2 dental; 70355-26 and 70350-26 medical)."""
    c.patient("pt-kowalczyk", "Kowalczyk", "Jakub", "2007-04-25", "male")
    c.encounter("enc-kowalczyk-1", "2026-06-16", "10:30", 40, "lakeview", "reyes", status="consultation",
                reason="Consultation requested by Dr. Haddad: impacted maxillary canines")
    c.device("bs-pan")
    study_uid, pan_uid, ceph_uid = uid(c.name, "study"), uid(c.name, "pan"), uid(c.name, "ceph")
    flat(c, "pan.dcm.json", "bs-pan", study_uid, pan_uid, modality="PX", description="Panoramic")
    flat(c, "ceph.dcm.json", "bs-pan", study_uid, ceph_uid, modality="DX", body="SKULL", description="Lateral ceph")
    c.study("img-kowalczyk-outside", "10:35", study_uid, [
        {"uid": pan_uid, "modality": "PX", "description": "Panoramic", "performer": "haddad"},
        {"uid": ceph_uid, "modality": "DX", "description": "Lateral ceph", "performer": "haddad"}],
        interpreter=("reyes",), description="Images from Bright Smiles Orthodontics")
    # The two D0391 lines (IMG-001 panoramic, IMG-003 ceph) merge into one line x2, which names one rule only:
    # DWC-IMG-001 is therefore not listed here (it is exercised by pano-capture-only and pano-and-cbct-implant).
    c.expect("lakeview", ["DWC-IMG-002", "DWC-IMG-003", "DWC-IMG-004"],
             dental=claim([("D0391", [], 2)], forbidden=["D0330", "D0340", "D0701", "D0702"]),
             medical=claim([("70355", ["26"], 1), ("70350", ["26"], 1)], forbidden=["D0391"]))


@case
def case_pano_capture_only(c: Case) -> None:
    """A panoramic image taken in the office and sent to an oral and maxillofacial radiologist, who reports it:
    capture only (D0701 dental, 70355-TC medical)."""
    c.patient("pt-varga", "Varga", "Zsofia", "1983-12-12", "female")
    c.encounter("enc-varga-1", "2026-06-23", "11:00", 25, "harbor", "natarajan", status="new-patient",
                reason="Incidental multilocular radiolucency seen by the general dentist")
    c.device("hp-pan")
    study_uid, series_uid = uid(c.name, "study"), uid(c.name, "pan")
    flat(c, "pan.dcm.json", "hp-pan", study_uid, series_uid, modality="PX", description="Panoramic")
    study = c.study("img-varga-pan", "11:05", study_uid, [{"uid": series_uid, "modality": "PX", "description": "Panoramic"}])
    c.report("rep-varga-pan", "16:00", study, "cole", "Multilocular radiolucency of the right ramus; CBCT advised.",
             "Panoramic radiograph report")
    c.expect("harbor", ["DWC-IMG-001", "DWC-IMG-002"],
             dental=claim([("D0701", [], 1)], forbidden=["D0330", "D0391"]),
             medical=claim([("70355", ["TC"], 1)]))


@case
def case_pano_and_cbct_implant(c: Case) -> None:
    """Implant work-up: a panoramic and a mandibular CBCT taken and read in the office on the same day (D0330 +
    D0365 dental, 70355 + 70486 medical) - the payer-overlap notice must appear."""
    c.patient("pt-fitzgerald", "Fitzgerald", "Siobhan", "1962-03-09", "female")
    c.encounter("enc-fitzgerald-1", "2026-07-07", "09:00", 30, "lakeview", "reyes", status="established-patient",
                reason="Missing 36 and 37: implant evaluation")
    c.device("lv-pan")
    c.device("lv-cbct")
    pan_study, pan_uid = uid(c.name, "pan-study"), uid(c.name, "pan")
    flat(c, "pan.dcm.json", "lv-pan", pan_study, pan_uid, modality="PX", description="Panoramic")
    cbct_study, cbct_uid = uid(c.name, "cbct-study"), uid(c.name, "cbct")
    volume(c, "cbct.dcm.json", "lv-cbct", cbct_study, cbct_uid, diameter=80, height=50, body="MANDIBLE",
           description="CBCT lower left posterior")
    c.study("img-fitzgerald-pan", "09:05", pan_study, [{"uid": pan_uid, "modality": "PX", "description": "Panoramic"}],
            interpreter=("reyes",))
    c.study("img-fitzgerald-cbct", "09:15", cbct_study, [{"uid": cbct_uid, "modality": "CT",
            "description": "CBCT lower left posterior"}], interpreter=("reyes",))
    c.expect("lakeview", ["DWC-IMG-001", "DWC-IMG-002", "DWC-IMG-010", "DWC-IMG-020", "DWC-EDIT-OVERLAP-1"],
             dental=claim([("D0330", [], 1), ("D0365", [], 1)], forbidden=["D0391", "D0381"],
                          notices=["imaging-overlap"]),
             medical=claim([("70355", [], 1), ("70486", [], 1)], notices=["imaging-overlap"]))


@case
def case_interpretation_only_procedure(c: Case) -> None:
    """The patient brings outside images on a USB stick (not imported); the surgeon reads them and records an
    image-interpretation step only: D0391 (modality not known) on both claim forms."""
    c.patient("pt-sorensen", "Sorensen", "Mikkel", "1975-01-30", "male")
    c.encounter("enc-sorensen-1", "2026-07-14", "14:30", 30, "harbor", "asante", status="new-patient",
                reason="Second opinion on a jaw lesion imaged elsewhere")
    c.procedure("proc-sorensen-read", "14:40", step="image-interpretation", by=("asante",),
                note="Outside images reviewed; written report sent to the referring dentist.")
    c.expect("harbor", ["DWC-IMG-040"],
             dental=claim([("D0391", [], 1)]),
             medical=claim([("D0391", [], 1)], forbidden=["70355", "70486"]))


# ==================================================================================== III. CBCT and CT
def cbct_case(c: Case, practice: str, surgeon: str, device: str, *, diameter: float, height: float,
              description: str, body: str | None = None, read_by: str | None = None, recon: bool = False,
              series: int = 1) -> None:
    """A CBCT study taken on the practice's unit; read by the surgeon (ImagingStudy.interpreter) unless
    `read_by` names an outside radiologist who reports it (DiagnosticReport)."""
    c.device(device)
    study_uid = uid(c.name, "cbct-study")
    items = []
    for n in range(series):
        series_uid = uid(c.name, "cbct", str(n))
        desc = description if series == 1 else description[n]
        volume(c, f"cbct{'' if series == 1 else '-' + str(n + 1)}.dcm.json", device, study_uid, series_uid,
               diameter=diameter, height=height, body=body, description=desc, recon=recon)
        items.append({"uid": series_uid, "modality": "CT", "description": desc})
    study = c.study(f"img-{c.name}", "09:20", study_uid, items, interpreter=() if read_by else (surgeon,))
    if read_by:
        c.report(f"rep-{c.name}", "15:00", study, read_by, "Full-volume interpretation; see report.",
                 "CBCT radiology report")


@case
def case_cbct_tmj_bilateral(c: Case) -> None:
    """Bilateral TMJ CBCT (two exposures, left and right, BodyPartExamined TMJ) taken and read in the office:
    one TMJ series D0368 dental, 70486 medical."""
    c.patient("pt-abernathy", "Abernathy", "Claire", "1988-02-17", "female")
    c.encounter("enc-abernathy-2", "2026-03-10", "09:00", 30, "harbor", "asante", status="established-patient",
                reason="Bilateral TMJ pain and limited opening")
    cbct_case(c, "harbor", "asante", "hp-cbct", diameter=80, height=60, body="TMJ", series=2,
              description=["TMJ left closed mouth", "TMJ right closed mouth"])
    c.expect("harbor", ["DWC-IMG-010", "DWC-IMG-020"],
             dental=claim([("D0368", [], 1)], forbidden=["D0364", "D0367", "D0384"]),
             medical=claim([("70486", [], 1)]))


@case
def case_cbct_tmj_capture_only(c: Case) -> None:
    """TMJ CBCT series (two exposures, closed and open mouth) taken in the office and read by an outside oral and
    maxillofacial radiologist: capture only D0384 dental, 70486-TC medical."""
    c.patient("pt-gallagher", "Gallagher", "Ronan", "1991-10-05", "male")
    c.encounter("enc-gallagher-1", "2026-03-11", "09:00", 25, "lakeview", "lindqvist", status="established-patient",
                reason="Suspected condylar resorption")
    cbct_case(c, "lakeview", "lindqvist", "lv-cbct", diameter=100, height=60, body="TMJ", series=2,
              description=["TMJ bilateral closed mouth", "TMJ bilateral open mouth"], read_by="cole")
    c.expect("lakeview", ["DWC-IMG-010", "DWC-IMG-020"],
             dental=claim([("D0384", [], 1)], forbidden=["D0368", "D0391"]),
             medical=claim([("70486", ["TC"], 1)]))


@case
def case_cbct_partial_third_molar(c: Case) -> None:
    """Small-field CBCT (50 mm) of an impacted lower third molar near the canal, taken and read in the office:
    less than one jaw, D0364 dental, 70486 medical."""
    c.patient("pt-ferreira-l", "Ferreira", "Luana", "2001-09-09", "female")
    c.encounter("enc-ferreira-1", "2026-03-17", "10:00", 25, "harbor", "natarajan", status="new-patient",
                reason="Impacted 48 in contact with the inferior alveolar canal on the panoramic")
    cbct_case(c, "harbor", "natarajan", "hp-cbct", diameter=50, height=50, description="CBCT small field lower right")
    c.expect("harbor", ["DWC-IMG-010", "DWC-IMG-020"],
             dental=claim([("D0364", [], 1)], forbidden=["D0365", "D0380"]),
             medical=claim([("70486", [], 1)]))


@case
def case_cbct_partial_capture_only(c: Case) -> None:
    """Small-field CBCT (ReconstructionDiameter 60 mm) taken in the office, read by an outside radiologist:
    D0380 dental, 70486-TC medical."""
    c.patient("pt-whitfield", "Whitfield", "Harriet", "1969-04-01", "female")
    c.encounter("enc-whitfield-1", "2026-03-18", "11:00", 20, "lakeview", "reyes", status="established-patient",
                reason="Failing implant 21, bone loss assessment")
    cbct_case(c, "lakeview", "reyes", "lv-cbct", diameter=60, height=50, recon=True,
              description="CBCT upper anterior", read_by="cole")
    c.expect("lakeview", ["DWC-IMG-010", "DWC-IMG-020"],
             dental=claim([("D0380", [], 1)], forbidden=["D0364", "D0391"]),
             medical=claim([("70486", ["TC"], 1)]))


@case
def case_cbct_mandible_capture_only(c: Case) -> None:
    """Mandibular CBCT (100 mm across, 55 mm high, BodyPartExamined MANDIBLE) taken in the office and read by an
    outside radiologist: D0381 dental, 70486-TC medical."""
    c.patient("pt-lindahl", "Lindahl", "Oskar", "1955-07-23", "male")
    c.encounter("enc-lindahl-1", "2026-03-24", "08:40", 20, "harbor", "asante", status="established-patient",
                reason="Atrophic mandible: evaluation for implant-retained overdenture")
    cbct_case(c, "harbor", "asante", "hp-cbct", diameter=100, height=55, body="MANDIBLE",
              description="CBCT mandible", read_by="cole")
    c.expect("harbor", ["DWC-IMG-010", "DWC-IMG-020"],
             dental=claim([("D0381", [], 1)], forbidden=["D0365", "D0391"]),
             medical=claim([("70486", ["TC"], 1)]))


@case
def case_cbct_maxilla_sinus(c: Case) -> None:
    """Maxillary CBCT for a sinus lift (90 mm across, 60 mm high, BodyPartExamined MAXILLA) taken and read in the
    office: D0366 dental, 70486 medical."""
    c.patient("pt-brennan", "Brennan", "Aoife", "1966-11-28", "female")
    c.encounter("enc-brennan-1", "2026-03-31", "09:30", 25, "lakeview", "lindqvist", status="established-patient",
                reason="Sinus floor augmentation planning, upper left")
    cbct_case(c, "lakeview", "lindqvist", "lv-cbct", diameter=90, height=60, body="MAXILLA",
              description="CBCT maxilla and sinuses")
    c.expect("lakeview", ["DWC-IMG-010", "DWC-IMG-020"],
             dental=claim([("D0366", [], 1)], forbidden=["D0365", "D0367", "D0382"]),
             medical=claim([("70486", [], 1)]))


@case
def case_cbct_maxilla_capture_only(c: Case) -> None:
    """Maxillary CBCT taken in the office, read by an outside radiologist: D0382 dental, 70486-TC medical."""
    c.patient("pt-yilmaz", "Yilmaz", "Deniz", "1977-05-16", "male")
    c.encounter("enc-yilmaz-1", "2026-04-01", "13:10", 20, "harbor", "natarajan", status="established-patient",
                reason="Oroantral communication after extraction of 26")
    cbct_case(c, "harbor", "natarajan", "hp-cbct", diameter=100, height=55, body="MAXILLA",
              description="CBCT maxilla", read_by="cole")
    c.expect("harbor", ["DWC-IMG-010", "DWC-IMG-020"],
             dental=claim([("D0382", [], 1)], forbidden=["D0366", "D0391"]),
             medical=claim([("70486", ["TC"], 1)]))


@case
def case_cbct_both_jaws_by_height(c: Case) -> None:
    """Large-field CBCT (160 mm across, 100 mm high, no body part recorded) taken and read in the office: the
    height makes it both jaws, D0367 dental, 70486 medical."""
    c.patient("pt-mwangi", "Mwangi", "Joseph", "1984-08-02", "male")
    c.encounter("enc-mwangi-1", "2026-04-07", "10:00", 30, "lakeview", "reyes", status="established-patient",
                reason="Full-arch rehabilitation planning")
    cbct_case(c, "lakeview", "reyes", "lv-cbct", diameter=160, height=100, description="CBCT large field")
    c.expect("lakeview", ["DWC-IMG-010", "DWC-IMG-020"],
             dental=claim([("D0367", [], 1)], forbidden=["D0365", "D0366", "D0383"]),
             medical=claim([("70486", [], 1)]))


@case
def case_cbct_both_jaws_capture_only(c: Case) -> None:
    """CBCT with BodyPartExamined JAW (both jaws, 60 mm high) taken in the office and read by an outside
    radiologist: D0383 dental, 70486-TC medical."""
    c.patient("pt-petrov", "Petrov", "Anya", "1997-12-19", "female")
    c.encounter("enc-petrov-1", "2026-04-14", "15:00", 20, "harbor", "asante", status="established-patient",
                reason="Multiple impacted teeth, cleidocranial dysplasia")
    cbct_case(c, "harbor", "asante", "hp-cbct", diameter=140, height=60, body="JAW",
              description="CBCT both jaws", read_by="cole")
    c.expect("harbor", ["DWC-IMG-010", "DWC-IMG-020"],
             dental=claim([("D0383", [], 1)], forbidden=["D0367", "D0365", "D0391"]),
             medical=claim([("70486", ["TC"], 1)]))


@case
def case_cbct_read_for_imaging_center(c: Case) -> None:
    """CBCT captured at an outside imaging center (its unit, its InstitutionName); the surgeon reads the volume and
    writes the report: interpretation only, D0391 dental, 70486-26 medical."""
    c.patient("pt-hollis", "Hollis", "Grace", "1959-06-06", "female")
    c.encounter("enc-hollis-1", "2026-04-21", "09:00", 30, "lakeview", "reyes", status="established-patient",
                reason="Review of imaging-center CBCT before implant removal")
    c.device("riverside-cbct")
    study_uid, series_uid = uid(c.name, "study"), uid(c.name, "cbct")
    volume(c, "cbct.dcm.json", "riverside-cbct", study_uid, series_uid, diameter=160, height=90,
           description="CBCT maxillofacial")
    study = c.study("img-hollis-cbct", "08:00", study_uid, [{"uid": series_uid, "modality": "CT",
                    "description": "CBCT maxillofacial"}])
    c.report("rep-hollis-cbct", "09:20", study, "reyes", "Peri-implant radiolucency around 46; no sinus disease.",
             "CBCT interpretation")
    c.expect("lakeview", ["DWC-IMG-011", "DWC-IMG-020"],
             dental=claim([("D0391", [], 1)], forbidden=["D0367", "D0383"]),
             medical=claim([("70486", ["26"], 1)], forbidden=["D0391"]))


@case
def case_cbct_fov_unknown(c: Case) -> None:
    """A CBCT known only from its ImagingStudy (no DICOM headers: no diameter, height or body part), taken and
    read in the office: no field of view, so no D0364-D0368 (notice field-of-view-unknown); 70486 medical."""
    c.patient("pt-quispe", "Quispe", "Rosa", "1980-03-03", "female")
    c.encounter("enc-quispe-1", "2026-04-28", "10:15", 25, "harbor", "natarajan", status="established-patient",
                reason="Pain after root canal treatment of 36")
    c.study("img-quispe-cbct", "10:20", uid(c.name, "study"), [{"uid": uid(c.name, "cbct"), "modality": "CT",
            "description": "CBCT", "performer": "natarajan"}], interpreter=("natarajan",))
    c.expect("harbor", ["DWC-IMG-012", "DWC-IMG-020"],
             dental=claim([], forbidden=["D0364", "D0365", "D0366", "D0367", "D0368", "D0391"],
                          notices=["field-of-view-unknown"]),
             medical=claim([("70486", [], 1)]))


@case
def case_outside_images_not_read(c: Case) -> None:
    """A consultation about a CBCT and a panoramic captured and reported by an outside imaging center: the practice
    neither captured nor interpreted them, so no imaging code at all (and no overlap notice)."""
    c.patient("pt-adeyemi", "Adeyemi", "Tunde", "1972-09-14", "male")
    c.encounter("enc-adeyemi-1", "2026-05-05", "13:30", 40, "lakeview", "lindqvist", status="consultation",
                reason="Consultation requested by the general dentist: radiopaque mass of the left maxilla")
    c.device("riverside-cbct")
    study_uid, cbct_uid, pan_uid = uid(c.name, "study"), uid(c.name, "cbct"), uid(c.name, "pan")
    volume(c, "cbct.dcm.json", "riverside-cbct", study_uid, cbct_uid, diameter=160, height=100,
           description="CBCT maxillofacial")
    flat(c, "pan.dcm.json", "riverside-cbct", study_uid, pan_uid, modality="PX", description="Panoramic")
    study = c.study("img-adeyemi-outside", "08:00", study_uid, [
        {"uid": cbct_uid, "modality": "CT", "description": "CBCT maxillofacial"},
        {"uid": pan_uid, "modality": "PX", "description": "Panoramic"}], interpreter=("ferreira",))
    c.report("rep-adeyemi-outside", "12:00", study, "ferreira", "Ossifying fibroma suspected.", "CBCT and panoramic report")
    imaging = ["D0330", "D0701", "D0364", "D0365", "D0366", "D0367", "D0368", "D0380", "D0381", "D0382", "D0383",
               "D0384", "D0391"]
    c.expect("lakeview", ["DWC-EVAL-003", "DWC-EVAL-012"],
             dental=claim([("D0140", [], 1)], optional=[], forbidden=imaging + ["D0160"]),
             medical=claim([("99244", [], 1)], optional=[], forbidden=["70355", "70486", "D0391"]))


@case
def case_ct_with_contrast_read(c: Case) -> None:
    """Medical-grade CT of the face with IV contrast captured at an imaging center; the surgeon interprets it:
    70487-26 medical, D0391 dental."""
    c.patient("pt-stavros", "Stavros", "Nikolaos", "1968-02-26", "male")
    c.encounter("enc-stavros-1", "2026-05-13", "14:00", 30, "harbor", "asante", status="established-patient",
                reason="Recurrent swelling of the left parotid/masseteric region")
    c.device("riverside-ct")
    study_uid, series_uid = uid(c.name, "study"), uid(c.name, "ct")
    volume(c, "ct.dcm.json", "riverside-ct", study_uid, series_uid, diameter=220, height=120, slices=6,
           description="CT maxillofacial with contrast", ContrastBolusAgent="Iohexol 350 mgI/mL IV")
    study = c.study("img-stavros-ct", "08:30", study_uid, [{"uid": series_uid, "modality": "CT",
                    "description": "CT maxillofacial with contrast"}])
    c.report("rep-stavros-ct", "14:20", study, "asante", "Rim-enhancing collection in the masseteric space.",
             "CT interpretation")
    c.expect("harbor", ["DWC-IMG-011", "DWC-IMG-020"],
             dental=claim([("D0391", [], 1)]),
             medical=claim([("70487", ["26"], 1)], forbidden=["70486", "70488"]))


@case
def case_ct_inpatient_without_then_with(c: Case) -> None:
    """Inpatient consultation for a facial abscess (50 min): the hospital's CT without, then with contrast, read by
    the surgeon - the facility bills capture: 70488-26 + 99253 medical, D0391 + D0140 dental (scope not recorded)."""
    c.patient("pt-kaur", "Kaur", "Harpreet", "1987-10-10", "female")
    c.encounter("enc-kaur-ip", "2026-05-20", "19:00", 50, "stbrendan", "vasquez", cls="IMP", status="consultation",
                reason="Emergency admission: odontogenic infection spreading to the submandibular space")
    c.coverage("cov-kaur-med", "EHCPOL", "Lakeshore Medical Mutual")
    c.device("stbrendan-ct")
    study_uid, plain_uid, post_uid = uid(c.name, "study"), uid(c.name, "plain"), uid(c.name, "post")
    volume(c, "ct-plain.dcm.json", "stbrendan-ct", study_uid, plain_uid, diameter=240, height=150, slices=6,
           description="CT face without contrast")
    volume(c, "ct-post.dcm.json", "stbrendan-ct", study_uid, post_uid, diameter=240, height=150, slices=6,
           description="CT face post contrast", ContrastBolusAgent="Omnipaque 300")
    c.study("img-kaur-ct", "18:10", study_uid, [
        {"uid": plain_uid, "modality": "CT", "description": "CT face without contrast"},
        {"uid": post_uid, "modality": "CT", "description": "CT face post contrast"}], interpreter=("vasquez",))
    c.expect("summit", ["DWC-EVAL-003", "DWC-EVAL-013", "DWC-IMG-011", "DWC-IMG-020", "DWC-IMG-030"],
             dental=claim([("D0140", [], 1), ("D0391", [], 1)], optional=[], forbidden=["D0160"],
                          notices=["facility-bills-capture"]),
             medical=claim([("99253", [], 1), ("70488", ["26"], 1)], optional=[],
                           forbidden=["70486", "70487"], notices=["facility-bills-capture"]))


@case
def case_ct_in_office(c: Case) -> None:
    """A medical-grade CT (not cone beam) taken and read in the practice's own office: 70486 on a medical claim;
    there is no CDT capture code for it (notice other-claim-only on a dental claim)."""
    c.patient("pt-moreno", "Moreno", "Lucia", "1993-01-22", "female")
    c.encounter("enc-moreno-1", "2026-05-26", "08:00", 30, "summit", "vasquez", status="established-patient",
                reason="Zygomatic complex fracture follow-up")
    c.device("su-ct")
    study_uid, series_uid = uid(c.name, "study"), uid(c.name, "ct")
    volume(c, "ct.dcm.json", "su-ct", study_uid, series_uid, diameter=200, height=110, slices=5,
           description="CT maxillofacial without contrast")
    c.study("img-moreno-ct", "08:10", study_uid, [{"uid": series_uid, "modality": "CT",
            "description": "CT maxillofacial without contrast"}], interpreter=("vasquez",))
    c.expect("summit", ["DWC-IMG-020", "DWC-IMG-021"],
             dental=claim([], forbidden=["D0367", "D0383", "D0391"], notices=["other-claim-only"]),
             medical=claim([("70486", [], 1)], forbidden=["70487", "70488"]))


# ==================================================================================== IV. 3D rendering, simulation, fusion
def cbct_with_renderings(c: Case, device: str, surgeon: str, renderings: list[str], *, diameter: float = 160,
                         height: float = 100, description: str = "CBCT large field") -> None:
    """A CBCT taken and read in the office plus derived rendering series made on the named devices."""
    c.device(device)
    study_uid, cbct_uid = uid(c.name, "study"), uid(c.name, "cbct")
    volume(c, "cbct.dcm.json", device, study_uid, cbct_uid, diameter=diameter, height=height, description=description)
    series = [{"uid": cbct_uid, "modality": "CT", "description": description}]
    for where in renderings:
        c.device(where)
        render_uid = uid(c.name, "render", where)
        flat(c, f"render-{where}.dcm.json", where, study_uid, render_uid, modality="OT", images=3, derived=True,
             description="Volume rendering", institution=ORGS[DEVICES[device][6]][1])
        series.append({"uid": render_uid, "modality": "OT", "description": "Volume rendering", "n": 3})
    c.study(f"img-{c.name}", "09:30", study_uid, series, interpreter=(surgeon,))


@case
def case_rendering_on_acquisition_unit(c: Case) -> None:
    """A CBCT with a volume-rendering series made on the CBCT unit itself (same StationName and serial): 3D rendering
    on the acquisition unit, 76376 on a medical claim (nothing extra on a dental claim)."""
    c.patient("pt-tanaka", "Tanaka", "Hiroshi", "1961-04-04", "male")
    c.encounter("enc-tanaka-1", "2026-06-02", "09:15", 30, "harbor", "natarajan", status="established-patient",
                reason="Extent of a large mandibular cyst")
    cbct_with_renderings(c, "hp-cbct", "natarajan", ["hp-cbct"], diameter=160, height=110)
    c.expect("harbor", ["DWC-IMG-010", "DWC-IMG-020", "DWC-PLAN-001"],
             dental=claim([("D0367", [], 1)], forbidden=["76376", "76377", "D0393"]),
             medical=claim([("70486", [], 1), ("76376", [], 1)], forbidden=["76377", "D0393"]))


@case
def case_rendering_independent_workstation(c: Case) -> None:
    """A CBCT whose volume rendering was made on the practice's separate planning workstation (other StationName and
    serial): 76377 on a medical claim."""
    c.patient("pt-ibarra", "Ibarra", "Camila", "1990-09-18", "female")
    c.encounter("enc-ibarra-1", "2026-06-03", "10:45", 30, "lakeview", "reyes", status="established-patient",
                reason="Post-traumatic orbital floor assessment")
    cbct_with_renderings(c, "lv-cbct", "reyes", ["lv-ws"], diameter=160, height=100)
    c.expect("lakeview", ["DWC-IMG-010", "DWC-IMG-020", "DWC-PLAN-001"],
             dental=claim([("D0367", [], 1)], forbidden=["76376", "76377"]),
             medical=claim([("70486", [], 1), ("76377", [], 1)], forbidden=["76376"]))


@case
def case_rendering_both_places(c: Case) -> None:
    """Renderings of one CBCT made both on the unit and on an independent workstation: 76376 and 76377 are not
    reported together - 76377 is kept (notice bundled)."""
    c.patient("pt-eriksen", "Eriksen", "Frida", "1982-12-01", "female")
    c.encounter("enc-eriksen-1", "2026-06-04", "13:00", 30, "summit", "vasquez", status="established-patient",
                reason="Fibrous dysplasia of the maxilla, growth follow-up")
    cbct_with_renderings(c, "su-cbct", "vasquez", ["su-cbct", "su-ws"], diameter=150, height=90)
    c.expect("summit", ["DWC-IMG-010", "DWC-IMG-020", "DWC-PLAN-001"],
             dental=claim([("D0367", [], 1)], forbidden=["76376", "76377"]),
             medical=claim([("70486", [], 1), ("76377", [], 1)], forbidden=["76376"], notices=["bundled"]))


@case
def case_simulation_without_note(c: Case) -> None:
    """Implant simulation on a mandibular CBCT at the practice's planning workstation, with no note of how it
    changed the plan: D0393 still suggested, with documentation-required; 76377 on a medical claim."""
    c.patient("pt-novak", "Novak", "Marek", "1964-08-29", "male")
    c.encounter("enc-novak-1", "2026-06-10", "09:00", 30, "harbor", "natarajan", status="established-patient",
                reason="Implant planning 35-36")
    cbct_case(c, "harbor", "natarajan", "hp-cbct", diameter=80, height=50, body="MANDIBLE", description="CBCT mandible")
    c.procedure("proc-novak-sim", "09:40", step="virtual-treatment-simulation", by=("natarajan",), used=("hp-ws",))
    c.expect("harbor", ["DWC-IMG-010", "DWC-PLAN-012", "DWC-PLAN-011", "DWC-PLAN-001"],
             dental=claim([("D0365", [], 1), ("D0393", [], 1)], notices=["documentation-required"]),
             medical=claim([("70486", [], 1), ("76377", [], 1), ("D0393", [], 1)], forbidden=["76376"],
                           notices=["documentation-required"]))


@case
def case_implant_guide_in_house(c: Case) -> None:
    """Single implant 11: small-field CBCT, intraoral scan (TRIOS STL), simulation with its note, static guide
    printed in the office: D0364 + D0801 + D0393 + D6190 (by report) dental; 70486 + 76377 on a medical claim."""
    c.patient("pt-delacroix", "Delacroix", "Amelie", "1996-02-14", "female")
    c.encounter("enc-delacroix-2", "2026-06-17", "08:30", 30, "lakeview", "reyes", status="established-patient",
                reason="Congenitally missing 12 and traumatic loss of 11")
    cbct_case(c, "lakeview", "reyes", "lv-cbct", diameter=60, height=50, recon=True, description="CBCT upper anterior")
    c.device("lv-trios")
    c.stl("upper-arch.stl", "3Shape TRIOS 5 - upper jaw", (62.0, 54.0, 21.0), seed=101)
    c.procedure("proc-delacroix-scan", "08:45", step="intraoral-scan", by=("reyes",), used=("lv-trios",))
    c.procedure("proc-delacroix-sim", "09:10", step="virtual-treatment-simulation", by=("reyes",), used=("lv-ws",),
                note="Scan registered to the CBCT; implant at 11 moved 1.5 mm palatal to keep 2 mm buccal bone; "
                     "guided protocol chosen instead of freehand.")
    c.procedure("proc-delacroix-guide", "11:00", step="surgical-implant-guide", by=("reyes",), used=("lv-printer",),
                note="Tooth-supported fully guided surgical guide, one sleeve at 11, printed in house.")
    c.expect("lakeview", ["DWC-IMG-010", "DWC-SCAN-001", "DWC-PLAN-012", "DWC-PLAN-001", "DWC-GUIDE-001"],
             dental=claim([("D0364", [], 1), ("D0801", [], 1), ("D0393", [], 1), ("D6190", [], 1)],
                          forbidden=["D0395", "D0396"], notices=["by-report"]),
             medical=claim([("70486", [], 1), ("76377", [], 1), ("D0801", [], 1), ("D0393", [], 1), ("D6190", [], 1)],
                           forbidden=["D0395", "D0396"], notices=["by-report"]))


@case
def case_fusion_cbct_mri_documented(c: Case) -> None:
    """A CBCT taken and read in the office fused with the hospital's MR of the face, with the reason written on the
    fusion step: D0395 (two volumes) on both claim forms."""
    c.patient("pt-laine", "Laine", "Veikko", "1953-05-05", "male")
    c.encounter("enc-laine-1", "2026-07-01", "10:00", 40, "summit", "vasquez", status="established-patient",
                reason="Resection planning for a squamous cell carcinoma of the left mandible")
    c.device("su-cbct")
    c.device("su-ws")
    study_uid, cbct_uid = uid(c.name, "cbct-study"), uid(c.name, "cbct")
    volume(c, "cbct.dcm.json", "su-cbct", study_uid, cbct_uid, diameter=160, height=100, description="CBCT large field")
    c.study("img-laine-cbct", "10:10", study_uid, [{"uid": cbct_uid, "modality": "CT", "description": "CBCT large field"}],
            interpreter=("vasquez",))
    mr_study, mr_uid = uid(c.name, "mr-study"), uid(c.name, "mr")
    c.dicom("mr.dcm.json", study_uid=mr_study, series_uid=mr_uid, modality="MR", slices=4, size=8, spacing=30.0,
            step=6.0, SeriesDescription="MR face T1 post gadolinium axial", Manufacturer="Siemens Healthineers",
            ManufacturerModelName="MAGNETOM Vida", StationName="SBRH-MR1", InstitutionName=ORGS["stbrendan"][1])
    c.procedure("proc-laine-fusion", "10:30", step="image-fusion", by=("vasquez",), used=("su-ws",),
                note="CBCT fused with the MR to show soft-tissue tumour extent against the bone: needed to set the "
                     "resection margins and the fibula flap length.")
    c.expect("summit", ["DWC-IMG-010", "DWC-PLAN-020"],
             dental=claim([("D0367", [], 1), ("D0395", [], 1)], forbidden=["D0393"]),
             medical=claim([("70486", [], 1), ("D0395", [], 1)], forbidden=["D0393", "76376", "76377"]))


@case
def case_fusion_ct_cbct_without_note(c: Case) -> None:
    """A new office CBCT fused with an older hospital CT (captured and read at the hospital) with no reason recorded:
    D0395 with documentation-required; the hospital CT itself is not the practice's to bill."""
    c.patient("pt-oduya", "Oduya", "Grace", "1970-10-31", "female")
    c.encounter("enc-oduya-1", "2026-07-08", "11:00", 30, "harbor", "asante", status="established-patient",
                reason="Follow-up of a mandibular reconstruction")
    c.device("hp-cbct")
    c.device("hp-ws")
    c.device("stbrendan-ct")
    study_uid, cbct_uid = uid(c.name, "cbct-study"), uid(c.name, "cbct")
    volume(c, "cbct.dcm.json", "hp-cbct", study_uid, cbct_uid, diameter=160, height=100, description="CBCT large field")
    c.study("img-oduya-cbct", "11:05", study_uid, [{"uid": cbct_uid, "modality": "CT", "description": "CBCT large field"}],
            interpreter=("asante",))
    ct_study, ct_uid = uid(c.name, "ct-study"), uid(c.name, "ct")
    volume(c, "ct.dcm.json", "stbrendan-ct", ct_study, ct_uid, diameter=240, height=120, slices=6,
           description="CT face without contrast")
    ct = c.study("img-oduya-ct", "07:00", ct_study, [{"uid": ct_uid, "modality": "CT",
                 "description": "CT face without contrast"}], description="Hospital CT imported for comparison")
    c.report("rep-oduya-ct", "07:30", ct, "nakamura", "Fibula flap consolidated.", "CT report")
    c.procedure("proc-oduya-fusion", "11:20", step="image-fusion", by=("asante",), used=("hp-ws",))
    c.expect("harbor", ["DWC-IMG-010", "DWC-PLAN-020", "DWC-PLAN-021"],
             dental=claim([("D0367", [], 1), ("D0395", [], 1)], forbidden=["D0391"],
                          notices=["documentation-required"]),
             medical=claim([("70486", [], 1), ("D0395", [], 1)], forbidden=["D0391"],
                           notices=["documentation-required"]))


@case
def case_fusion_scan_to_cbct(c: Case) -> None:
    """Intraoral scans registered to one CBCT (recorded as an image-fusion step) for a simulation: one volume only,
    so no D0395 (notice not-a-volume); D0367 + D0801 + D0393."""
    c.patient("pt-garrido", "Garrido", "Ines", "1958-01-13", "female")
    c.encounter("enc-garrido-1", "2026-07-15", "09:00", 30, "lakeview", "reyes", status="established-patient",
                reason="Full-arch implant planning, both jaws")
    cbct_case(c, "lakeview", "reyes", "lv-cbct", diameter=160, height=100, description="CBCT large field")
    c.device("lv-trios")
    c.stl("maxilla.stl", "3Shape TRIOS 5 - upper jaw", (64.0, 55.0, 24.0), seed=201)
    c.stl("mandible.stl", "3Shape TRIOS 5 - lower jaw", (60.0, 52.0, 22.0), seed=202)
    c.procedure("proc-garrido-fusion", "09:30", step="image-fusion", by=("reyes",), used=("lv-ws",),
                note="Intraoral scans registered to the CBCT on three fiducial teeth.")
    c.procedure("proc-garrido-sim", "09:45", step="virtual-treatment-simulation", by=("reyes",), used=("lv-ws",),
                note="Six implants per arch simulated; two posterior maxillary sites changed to tilted implants to "
                     "avoid sinus grafting.")
    c.expect("lakeview", ["DWC-IMG-010", "DWC-SCAN-001", "DWC-PLAN-012", "DWC-PLAN-022"],
             dental=claim([("D0367", [], 1), ("D0801", [], 1), ("D0393", [], 1)], forbidden=["D0395"],
                          notices=["not-a-volume"]),
             medical=claim([("70486", [], 1), ("76377", [], 1), ("D0801", [], 1), ("D0393", [], 1)],
                           forbidden=["D0395"], notices=["not-a-volume"]))


# ==================================================================================== V. surface scans and printing
@case
def case_print_in_house(c: Case) -> None:
    """Intraoral scan of both arches (Medit i700, two STL files) and a model printed on the practice's own printer:
    one D0801 for the visit and one D0396, on both claim forms."""
    c.patient("pt-bianchi", "Bianchi", "Marco", "2004-06-30", "male")
    c.encounter("enc-bianchi-1", "2026-08-04", "08:00", 25, "harbor", "natarajan", status="established-patient",
                reason="Models for splint fabrication before orthognathic surgery")
    c.device("hp-medit")
    c.stl("upper.stl", "Medit i700 scan - maxilla", (63.0, 56.0, 22.0), seed=301)
    c.stl("lower.stl", "Medit i700 scan - mandible", (61.0, 53.0, 20.0), seed=302)
    c.procedure("proc-bianchi-print", "09:30", step="3d-print-model", by=("natarajan",), used=("hp-printer",),
                note="Both arches printed for model surgery.")
    c.expect("harbor", ["DWC-SCAN-001", "DWC-PRINT-003"],
             dental=claim([("D0801", [], 1), ("D0396", [], 1)], forbidden=["D0470", "D0802"]),
             medical=claim([("D0801", [], 1), ("D0396", [], 1)], forbidden=["D0470", "D0802"]))


@case
def case_print_by_lab(c: Case) -> None:
    """Intraoral scan in the office; the model is printed by an outside dental laboratory: D0801 only, no D0396
    (notice third-party-fabrication)."""
    c.patient("pt-huber", "Huber", "Lena", "1998-03-08", "female")
    c.encounter("enc-huber-1", "2026-08-05", "10:00", 20, "lakeview", "lindqvist", status="established-patient",
                reason="Study models for a segmental osteotomy")
    c.device("lv-trios")
    c.stl("arches.stl", "3Shape TRIOS 5 - full arch", (66.0, 57.0, 38.0), seed=311)
    c.procedure("proc-huber-print", "15:00", step="3d-print-model", by=("brandt",), used=("lab-printer",),
                note="Printed by Precision Dental Laboratory from the uploaded scan; invoice attached.")
    c.expect("lakeview", ["DWC-SCAN-001", "DWC-PRINT-002"],
             dental=claim([("D0801", [], 1)], forbidden=["D0396"], notices=["third-party-fabrication"]),
             medical=claim([("D0801", [], 1)], forbidden=["D0396"], notices=["third-party-fabrication"]))


@case
def case_model_scan_of_casts(c: Case) -> None:
    """Stone casts from the referring orthodontist scanned on the office desktop scanner (the STL header says
    'stone model'): indirect scan D0802, not D0801."""
    c.patient("pt-oconnell", "O'Connell", "Niamh", "2006-02-02", "female")
    c.encounter("enc-oconnell-1", "2026-08-11", "14:00", 20, "harbor", "asante", status="established-patient",
                reason="Digitising outside study casts for surgical planning")
    c.stl("lower-cast.stl", "Lab scan of stone model - lower cast", (68.0, 60.0, 32.0), seed=321)
    c.expect("harbor", ["DWC-SCAN-002"],
             dental=claim([("D0802", [], 1)], forbidden=["D0801", "D0470"]),
             medical=claim([("D0802", [], 1)], forbidden=["D0801", "D0470"]))


@case
def case_facial_scan_by_size(c: Case) -> None:
    """A facial surface scan from a scanner the mappings do not know: the mesh is 190 mm across (face-sized), so it
    is a direct facial scan, D0803."""
    c.patient("pt-sandoval", "Sandoval", "Diego", "1995-05-27", "male")
    c.encounter("enc-sandoval-1", "2026-08-18", "09:00", 30, "lakeview", "reyes", status="established-patient",
                reason="Soft-tissue planning before bimaxillary surgery")
    c.stl("face.stl", "EinScan H2 export 0042", (190.0, 165.0, 115.0), seed=331)
    c.expect("lakeview", ["DWC-SCAN-003"],
             dental=claim([("D0803", [], 1)], forbidden=["D0801", "D0804"]),
             medical=claim([("D0803", [], 1)], forbidden=["D0801", "D0804"]))


@case
def case_facial_scan_by_device(c: Case) -> None:
    """A mid-face capture only 100 mm across (arch-sized) whose STL header names a facial scanner (Bellus3D), plus a
    DocumentReference with a model/stl attachment of the same scan: the device decides, one D0803."""
    c.patient("pt-achebe", "Achebe", "Ngozi", "1989-07-07", "female")
    c.encounter("enc-achebe-1", "2026-08-19", "11:00", 30, "harbor", "natarajan", status="established-patient",
                reason="Nasolabial soft-tissue record before Le Fort I")
    c.stl("midface.stl", "Bellus3D ARC-7 capture", (100.0, 72.0, 48.0), seed=341)
    c.stl_document("doc-achebe-face", "11:10", "Bellus3D ARC-7 capture", "Mid-face capture, smile and rest",
                   "Binary/achebe-midface-stl")
    c.expect("harbor", ["DWC-SCAN-003"],
             dental=claim([("D0803", [], 1)], forbidden=["D0801", "D0802"]),
             medical=claim([("D0803", [], 1)], forbidden=["D0801", "D0802"]))


@case
def case_facial_prosthesis_scan(c: Case) -> None:
    """A silicone prosthetic ear scanned with a handheld structured-light scanner (header says 'prosthetic ear'):
    scan of a constructed facial feature, D0804."""
    c.patient("pt-whitehorse", "Whitehorse", "Daniel", "1974-11-11", "male")
    c.encounter("enc-whitehorse-1", "2026-08-25", "10:00", 30, "summit", "vasquez", status="established-patient",
                reason="Auricular prosthesis remake after microtia reconstruction")
    c.device("su-artec")
    c.stl("ear.stl", "Artec Space Spider - prosthetic ear, silicone", (62.0, 36.0, 22.0), seed=351)
    c.procedure("proc-whitehorse-scan", "10:15", step="facial-prosthesis-scan", by=("vasquez",), used=("su-artec",))
    c.expect("summit", ["DWC-SCAN-004"],
             dental=claim([("D0804", [], 1)], forbidden=["D0803", "D0801"]),
             medical=claim([("D0804", [], 1)], forbidden=["D0803", "D0801"]))


@case
def case_third_party_intraoral_scan(c: Case) -> None:
    """The orthodontist scanned the arches (iTero) and sent the STL files; the surgeon runs a simulation on the scans
    alone: D0393 only - no D0801 (third-party-service) and no 76377 (no 3D volume)."""
    c.patient("pt-lund", "Lund", "Elias", "2007-09-01", "male")
    c.encounter("enc-lund-1", "2026-09-01", "09:00", 30, "lakeview", "reyes", status="established-patient",
                reason="Surgery-first orthognathic planning on orthodontist's scans")
    c.stl("itero-upper.stl", "iTero Element 5D - maxillary arch", (65.0, 56.0, 23.0), seed=361)
    c.stl("itero-lower.stl", "iTero Element 5D - mandibular arch", (62.0, 52.0, 21.0), seed=362)
    c.procedure("proc-lund-scan", "08:00", step="intraoral-scan", by=("haddad",), used=("bs-itero",),
                note="Scanned at Bright Smiles Orthodontics, files shared with the surgeon.")
    c.procedure("proc-lund-sim", "09:20", step="virtual-treatment-simulation", by=("reyes",), used=("lv-ws",),
                note="Mandibular setback simulated on the scans: 5 mm setback gives class I canines; plan confirmed.")
    c.expect("lakeview", ["DWC-GEN-901", "DWC-PLAN-012"],
             dental=claim([("D0393", [], 1)], forbidden=["D0801", "D0802"], notices=["third-party-service"]),
             medical=claim([("D0393", [], 1)], forbidden=["D0801", "76376", "76377"], notices=["third-party-service"]))


# ==================================================================================== VI. splints, guides, devices
def splints(c: Case, surgeon: str, printer: str, kinds: list[str], by: str | None = None) -> None:
    for n, kind in enumerate(kinds, start=1):
        c.procedure(f"proc-{c.name}-splint-{n}", f"{10 + n}:00", step="surgical-splint", by=(by or surgeon,),
                    used=(printer,), note=f"{kind} splint designed on the planned movements and printed.")


@case
def case_splints_intermediate_final(c: Case) -> None:
    """Intermediate and final splints for a two-jaw surgery designed and printed by the surgeon, 14 days before
    surgery: 21085 x2 (global-period notice) medical, D5988 x2 dental."""
    c.patient("pt-kristiansen", "Kristiansen", "Jonas", "2000-01-25", "male")
    c.encounter("enc-kristiansen-1", "2026-09-08", "08:00", 20, "lakeview", "reyes", status="established-patient",
                reason="Splint delivery and try-in before bimaxillary osteotomy on 2026-09-22")
    splints(c, "reyes", "lv-printer", ["Intermediate", "Final"])
    c.expect("lakeview", ["DWC-SPLINT-001", "DWC-SPLINT-003"],
             dental=claim([("D5988", [], 2)], forbidden=["21085", "D0396"]),
             medical=claim([("21085", [], 2)], forbidden=["99070", "D5988", "D0396"], notices=["global-period"]))


@case
def case_splints_three_mue(c: Case) -> None:
    """Three splints made by the surgeon on one date (intermediate, final, palatal for a segmental Le Fort I):
    21085 capped at its MUE of 2 (mue-exceeded) medical; D5988 x3 dental."""
    c.patient("pt-ahmadi", "Ahmadi", "Shirin", "1998-04-12", "female")
    c.encounter("enc-ahmadi-1", "2026-09-09", "08:00", 20, "harbor", "asante", status="established-patient",
                reason="Splints for three-piece Le Fort I and BSSO")
    splints(c, "asante", "hp-printer", ["Intermediate", "Final", "Palatal"])
    c.expect("harbor", ["DWC-SPLINT-001", "DWC-SPLINT-003"],
             dental=claim([("D5988", [], 3)], forbidden=["21085"]),
             medical=claim([("21085", [], 2)], forbidden=["99070"], notices=["mue-exceeded", "global-period"]))


@case
def case_splint_by_lab(c: Case) -> None:
    """A final splint fabricated by an outside dental laboratory: medical one of 99070 (with the invoice) or 21085-52
    (third-party-fabrication, global-period); D5988 on a dental claim with the third-party notice."""
    c.patient("pt-mccarthy", "McCarthy", "Declan", "1992-06-15", "male")
    c.encounter("enc-mccarthy-1", "2026-09-15", "09:00", 20, "summit", "vasquez", status="established-patient",
                reason="Splint for mandibular advancement")
    c.procedure("proc-mccarthy-splint", "09:00", step="surgical-splint", by=("brandt",), used=("lab-printer",),
                note="Final splint made by Precision Dental Laboratory; invoice PDL-2026-0917.")
    c.expect("summit", ["DWC-SPLINT-002", "DWC-SPLINT-003", "DWC-SPLINT-004"],
             dental=claim([("D5988", [], 1)], notices=["third-party-fabrication"]),
             medical=claim(one_of=[[("99070", [], 1), ("21085", ["52"], 1)]],
                           notices=["third-party-fabrication", "global-period"]))


@case
def case_implant_guide_by_lab(c: Case) -> None:
    """A static implant guide designed and printed by an outside laboratory: D6190 (by report) with the
    third-party-fabrication notice, on both claim forms."""
    c.patient("pt-schreiber", "Schreiber", "Hanna", "1967-03-19", "female")
    c.encounter("enc-schreiber-1", "2026-09-16", "10:00", 20, "harbor", "asante", status="established-patient",
                reason="Guided implant placement 24-26 (guide try-in)")
    c.procedure("proc-schreiber-guide", "10:00", step="surgical-implant-guide", by=("brandt",), used=("lab-printer",),
                note="Tooth-supported guide, three sleeves, from Precision Dental Laboratory.")
    c.expect("harbor", ["DWC-GUIDE-001", "DWC-GUIDE-002"],
             dental=claim([("D6190", [], 1)], notices=["third-party-fabrication", "by-report"]),
             medical=claim([("D6190", [], 1)], notices=["third-party-fabrication", "by-report"]))


@case
def case_dynamic_navigation(c: Case) -> None:
    """Osteotomy indexing for dynamic navigation (X-Guide) done by the surgeon: D7939 on both claim forms."""
    c.patient("pt-vidal", "Vidal", "Tomas", "1960-12-24", "male")
    c.encounter("enc-vidal-1", "2026-09-22", "08:00", 20, "lakeview", "lindqvist", status="established-patient",
                reason="Navigated zygomatic implant placement")
    c.procedure("proc-vidal-nav", "08:30", step="dynamic-navigation-guide", by=("lindqvist",), used=("lv-xguide",),
                note="Thermoplastic tracker clip fitted, patient registered, osteotomy trajectories indexed.")
    c.expect("lakeview", ["DWC-GUIDE-010"],
             dental=claim([("D7939", [], 1)], forbidden=["D6190"]),
             medical=claim([("D7939", [], 1)], forbidden=["D6190"]))


@case
def case_genioplasty_cutting_guide_in_house(c: Case) -> None:
    """CBCT rendered on the practice's own planning workstation (76377) and a genioplasty cutting guide designed and
    printed in house: the guide is part of 76377 (integral-to-postprocessing), no 99070."""
    c.patient("pt-moreau-a", "Moreau", "Adele", "1999-10-08", "female")
    c.encounter("enc-moreau-1", "2026-10-06", "09:00", 30, "lakeview", "lindqvist", status="established-patient",
                reason="Advancement genioplasty planning")
    cbct_case(c, "lakeview", "lindqvist", "lv-cbct", diameter=160, height=100, description="CBCT large field")
    c.procedure("proc-moreau-render", "09:30", step="3d-rendering", by=("lindqvist",), used=("lv-ws",),
                note="Segmentation of the mandible, 3D rendering and osteotomy design.")
    c.procedure("proc-moreau-guide", "10:30", step="cutting-guide", by=("lindqvist",), used=("lv-printer",),
                note="Chin cutting guide with pre-drilled plate holes, printed in house.")
    c.expect("lakeview", ["DWC-IMG-010", "DWC-PLAN-001", "DWC-DEV-001", "DWC-DEV-004"],
             dental=claim([("D0367", [], 1)], forbidden=["99070", "76377", "D0396"],
                          notices=["integral-to-postprocessing"]),
             medical=claim([("70486", [], 1), ("76377", [], 1)], forbidden=["99070", "76376", "D0396"],
                           notices=["integral-to-postprocessing"]))


@case
def case_vsp_vendor_workstation(c: Case) -> None:
    """Virtual surgical planning with a vendor: the surgeon works the 3D rendering on the vendor's workstation (a web
    session); the vendor makes the cutting guides and custom plates. Contract: a vendor's workstation is still 76377;
    the hardware is integral to it (no 99070). Medical claim."""
    c.patient("pt-grunewald", "Grunewald", "Felix", "1985-03-30", "male")
    c.encounter("enc-grunewald-1", "2026-10-13", "08:00", 40, "summit", "vasquez", status="established-patient",
                reason="Bimaxillary surgery with custom plates - planning session")
    cbct_case(c, "summit", "vasquez", "su-cbct", diameter=160, height=100, description="CBCT large field")
    c.procedure("proc-grunewald-vsp", "08:30", step="3d-rendering", by=("vasquez",), used=("cranimed-ws",),
                note="Web planning session with the CraniaMed engineer: segmentation, osteotomies and final "
                     "positions set by the surgeon.")
    c.procedure("proc-grunewald-guides", "09:30", step="cutting-guide", by=("moreau",),
                note="Le Fort I and BSSO cutting guides, vendor-made.")
    c.procedure("proc-grunewald-plates", "09:35", step="custom-plate", by=("moreau",),
                note="Patient-specific titanium plates for the maxilla, vendor-made.")
    # Medical claim only: 76377 and DEV-001/002 are medical-claim rules (dental handling of vendor hardware is
    # exercised by mandible-reconstruction-hospital and genioplasty-cutting-guide-in-house).
    c.expect("summit", ["DWC-IMG-020", "DWC-PLAN-001", "DWC-DEV-001", "DWC-DEV-005"],
             medical=claim([("70486", [], 1), ("76377", [], 1)], forbidden=["99070", "76376"],
                           notices=["integral-to-postprocessing", "third-party-fabrication"]))


@case
def case_distraction_without_rendering(c: Case) -> None:
    """Office alveolar distraction: a vendor-made custom distractor and an in-house paralleling guide, paid by the
    practice, with no 3D post-processing billed: 99070 (with the invoices) on a medical claim; integral on dental."""
    c.patient("pt-nguyen", "Nguyen", "Bao", "1981-08-08", "male")
    c.encounter("enc-nguyen-1", "2026-10-20", "07:30", 30, "harbor", "asante", status="established-patient",
                reason="Vertical alveolar distraction of the anterior mandible")
    c.procedure("proc-nguyen-distractor", "08:00", step="custom-distractor", by=("moreau",),
                note="Custom alveolar distractor from CraniaMed; invoice CM-55310 paid by the practice.")
    c.procedure("proc-nguyen-guide", "08:05", step="paralleling-guide", by=("asante",), used=("hp-printer",),
                note="Paralleling guide for the distraction vector, printed in house.")
    c.expect("harbor", ["DWC-DEV-002", "DWC-DEV-004", "DWC-DEV-005"],
             dental=claim([], forbidden=["99070", "D0396"], notices=["integral-to-postprocessing", "third-party-fabrication"]),
             medical=claim([("99070", [], None)], forbidden=["76376", "76377", "D0396"],
                           notices=["third-party-fabrication"]))


@case
def case_mandible_reconstruction_hospital(c: Case) -> None:
    """Mandible resection and fibula reconstruction in the hospital with vendor-made cutting guides, plate and a
    medical model: in the facility setting they are the facility's (integral-to-postprocessing), no 99070."""
    c.patient("pt-achterberg", "Achterberg", "Willem", "1958-09-30", "male")
    c.encounter("enc-achterberg-or", "2026-10-27", "07:00", 480, "stbrendan", "vasquez", cls="IMP",
                reason="Segmental mandibulectomy and fibula free flap (ameloblastoma)")
    for n, (step, what) in enumerate([("cutting-guide", "Mandible and fibula cutting guides"),
                                      ("custom-plate", "Patient-specific reconstruction plate"),
                                      ("medical-model", "Sterilisable mandible model")], start=1):
        c.procedure(f"proc-achterberg-{step}", f"{7 + n:02d}:00", step=step, by=("moreau",), note=f"{what}, vendor-made.")
    c.expect("summit", ["DWC-DEV-003", "DWC-DEV-004", "DWC-DEV-005"],
             dental=claim([], forbidden=["99070", "D0396"], notices=["integral-to-postprocessing", "third-party-fabrication"]),
             medical=claim([], forbidden=["99070", "76376", "76377"],
                           notices=["integral-to-postprocessing", "third-party-fabrication"]))


@case
def case_rendering_on_unit_station_only(c: Case) -> None:
    """A volume rendering saved by the CBCT unit's own software: the derived series carries the unit's StationName but
    no DeviceSerialNumber. Same StationName as the acquisition = the acquisition unit (contract): 76376, not 76377."""
    c.patient("pt-sato", "Sato", "Yuki", "1976-06-12", "female")
    c.encounter("enc-sato-1", "2026-06-05", "09:00", 30, "summit", "vasquez", status="established-patient",
                reason="Extent of a maxillary odontogenic keratocyst")
    c.device("su-cbct")
    study_uid, cbct_uid, render_uid = uid(c.name, "study"), uid(c.name, "cbct"), uid(c.name, "render")
    volume(c, "cbct.dcm.json", "su-cbct", study_uid, cbct_uid, diameter=150, height=90, description="CBCT large field")
    flat(c, "render.dcm.json", "su-cbct", study_uid, render_uid, modality="OT", images=3, derived=True,
         description="Volume rendering", DeviceSerialNumber=None)
    c.study("img-sato-cbct", "09:10", study_uid, [
        {"uid": cbct_uid, "modality": "CT", "description": "CBCT large field"},
        {"uid": render_uid, "modality": "OT", "description": "Volume rendering", "n": 3}], interpreter=("vasquez",))
    c.expect("summit", ["DWC-IMG-020", "DWC-PLAN-001"],
             medical=claim([("70486", [], 1), ("76376", [], 1)], forbidden=["76377"]))


@case
def case_hospital_clinic_consultation(c: Case) -> None:
    """Consultation (45 min) in the hospital's outpatient clinic (Encounter.class AMB, serviceProvider the hospital);
    the hospital takes a panoramic, the surgeon reads it. Not inpatient: office/outpatient consultation 99244
    (contract: 99242-99245 office, 99252-99255 inpatient); the facility bills the capture: 70355-26."""
    c.patient("pt-rahman", "Rahman", "Farhan", "1966-01-09", "male")
    c.encounter("enc-rahman-1", "2026-05-27", "13:00", 45, "stbrendan", "vasquez", status="consultation",
                reason="Hospital dental clinic: pre-radiotherapy dental clearance requested by oncology")
    c.device("stbrendan-pan")
    study_uid, pan_uid = uid(c.name, "study"), uid(c.name, "pan")
    flat(c, "pan.dcm.json", "stbrendan-pan", study_uid, pan_uid, modality="PX", description="Panoramic")
    c.study("img-rahman-pan", "13:10", study_uid, [{"uid": pan_uid, "modality": "PX", "description": "Panoramic"}],
            interpreter=("vasquez",))
    c.expect("summit", ["DWC-EVAL-012", "DWC-IMG-002", "DWC-IMG-030"],
             medical=claim([("99244", [], 1), ("70355", ["26"], 1)], optional=[],
                           forbidden=["99253", "99254"], notices=["facility-bills-capture"]))


# ==================================================================================== VII. recorded codes
@case
def case_recorded_codes(c: Case) -> None:
    """The practice system recorded codes directly: CDT D0330 on a panoramic Procedure and CPT 21085 on a splint
    Procedure: each claim form gets its own code for the step (D0330 + D5988 dental; 70355 + 21085 medical)."""
    c.patient("pt-ortega", "Ortega", "Valeria", "1997-07-19", "female")
    c.encounter("enc-ortega-1", "2026-11-03", "09:00", 25, "harbor", "natarajan", status="established-patient",
                reason="Pre-operative panoramic and final splint delivery")
    c.procedure("proc-ortega-pan", "09:05", code=(CDT, "D0330", "Panoramic radiographic image"), by=("natarajan",),
                used=("hp-pan",))
    c.procedure("proc-ortega-splint", "09:30", code=(CPT, "21085", "Impression and custom preparation; oral surgical splint"),
                by=("natarajan",), used=("hp-printer",))
    c.expect("harbor", ["DWC-IMG-001", "DWC-IMG-002", "DWC-SPLINT-001", "DWC-SPLINT-003"],
             dental=claim([("D0330", [], 1), ("D5988", [], 1)], forbidden=["21085", "70355"]),
             medical=claim([("70355", [], 1), ("21085", [], 1)], forbidden=["D0330", "D5988"], notices=["global-period"]))


@case
def case_unknown_recorded_code(c: Case) -> None:
    """A Procedure recorded with a CDT code that names no digital-workflow step (D7240, removal of an impacted tooth):
    it is not coded and is listed as "not a workflow step" (`not_steps`), which is neither a notice nor a skipped
    input."""
    c.patient("pt-beaumont", "Beaumont", "Chloe", "2002-05-05", "female")
    c.encounter("enc-beaumont-1", "2026-11-10", "08:00", 60, "lakeview", "lindqvist", status="established-patient",
                reason="Removal of impacted 38 and 48")
    c.procedure("proc-beaumont-38", "08:15", code=(CDT, "D7240", "Removal of impacted tooth, completely bony"),
                by=("lindqvist",))
    c.expect("lakeview", [],
             dental=claim([], forbidden=["D7240"]),
             medical=claim([], forbidden=["D7240"]))


# ==================================================================================== the topic modules
for _topic in (cases_terminology, cases_patients, cases_imaging, cases_audit):  # their cases join CASES, in order
    _topic.TOPIC.register(globals())


# ==================================================================================== writing
GENERATED = ("bundle.json", "expected.json", "README.md", "*.dcm.json", "*.stl")


def write_cases(root: Path = ROOT) -> list[str]:
    """Write every case into root/<name>/ (stale generated files of a case are removed first; KNOWN_ISSUE.md and
    anything else written by hand is left alone). Returns the case names."""
    names: list[str] = []
    for build in CASES:
        c = build()
        assert c.name not in names, f"duplicate case {c.name}"
        names.append(c.name)
        folder = root / c.name
        folder.mkdir(parents=True, exist_ok=True)
        for pattern in GENERATED:
            for old in folder.glob(pattern):
                old.unlink()
        (folder / "bundle.json").write_text(json.dumps(c.bundle(), indent=1) + "\n")
        for write in c.writers:
            write(folder)
        (folder / "expected.json").write_text(json.dumps(c.expected, indent=1) + "\n")
        (folder / "README.md").write_text(f"# {c.name}\n\n{' '.join(c.about.split())}\n")
    return names


if __name__ == "__main__":
    print(f"wrote {len(write_cases())} cases under {ROOT}")
