"""From a case to step instances: which workflow steps were performed, each with the facts rules read.

Sources, merged so that one step done once is one instance whatever the number of records showing it:
  Encounter.type / oral-evaluation / recorded E/M codes -> evaluation
  ImagingStudy series + DICOM series (imaging.py)        -> cbct, ct, panoramic, cephalometric, photographs,
                                                            3d-rendering (derived series), surface scans (OSS)
  STL / PLY files, model/stl attachments (surfaces.py)   -> intraoral / model / facial / facial-prosthesis scan
  completed Procedures (workflow-step, CDT or CPT code)  -> any step; imaging Procedures join their images
  a simulation on a 3D volume                            -> also a 3d-rendering (76376/76377 on medical claims)
Facts that need evidence, not assumptions: a rendering is the practice's only on its device, performer or Procedure
(or its own encounter when the record is silent); `cost_bearer` is the practice only on an invoice, a supply record,
an item it made or its settings; `scope` of an evaluation and `print_source` of a print come from the record's
codes and words (settings.yaml). The names of the facts are declared in mappings/<year>/facts.yaml.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

from plugin import resources as fr
from plugin.case import Case
from plugin.engine import documents, imaging
from plugin.engine.imaging import VOLUME_KINDS, Image
from plugin.engine.surfaces import FAMILY, classify_scan
from plugin.evidence.model import FhirResource, Problem
from plugin.errors import UnknownCode
from plugin.mappings import Mappings, did_you_mean

WORKFLOW = "https://dwcoder.org/fhir/CodeSystem/workflow-step"
PATIENT_STATUS = {"new-patient": "new", "established-patient": "established", "consultation": "consultation"}
IMAGING_STEPS = {"cbct": "cbct", "ct": "ct", "panoramic-image": "panoramic", "cephalometric-image": "cephalometric", "photographs": "photograph"}
SCAN_STEPS = ("intraoral-scan", "model-scan", "facial-scan", "facial-prosthesis-scan")
MADE = frozenset({"3d-print-model", "surgical-splint", "surgical-implant-guide", "cutting-guide", "custom-plate",
                  "custom-distractor", "paralleling-guide", "medical-model", "conventional-impression-cast"})
PER_ITEM = {"surgical-splint": "splint", "3d-print-model": "print", "photographs": "photographs"}


@dataclass
class Instance:
    step: str
    facts: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    records: list[FhirResource] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    sources: Callable[[], Any] = lambda: None  # its documentation places (engine/documents.py Places), made on need

    def add_evidence(self, *refs: str) -> None:
        for ref in refs:
            if ref and ref not in self.evidence:
                self.evidence.append(ref)


@dataclass
class Derived:
    instances: list[Instance]
    unmapped: list[tuple[str, str]]  # (code, record ref): workflow-step codes the mappings do not know
    problems: list[Problem]
    not_steps: list[dict[str, str]] = field(default_factory=list)  # records whose codes name no workflow step
    notices: list[dict] = field(default_factory=list)  # notice specs the evidence itself raises (no step)


def derive(case: Case, maps: Mappings) -> Derived:
    images = imaging.inventory(case, maps)
    out = Derived([], [], [])
    procedures = _completed_procedures(case, maps, out)
    volumes = [i for i in images if i.kind in VOLUME_KINDS]
    setting = _setting(case, maps)
    instances: list[Instance] = []
    instances += _evaluation(case, procedures, maps)
    instances += _imaging(case, images, procedures, setting, maps)
    instances += _renderings(case, images, volumes, procedures, maps)
    instances += _surface_scans(case, images, procedures, maps, out)
    instances += _other_steps(case, procedures, maps)
    _case_facts(case, instances, volumes, setting, maps)
    for inst in instances:
        inst.sources = partial(documents.step_sources, case, inst.records, inst.evidence)
    out.instances = instances
    return out


# ------------------------------------------------------------------------------------------ procedures
@dataclass
class Proc:
    record: FhirResource
    step: str
    implied: dict[str, Any]
    code: str  # the code as recorded


def _completed_procedures(case: Case, maps: Mappings, out: Derived) -> list[Proc]:
    procs = []
    for rec in (r for r in case.records if r.type == "Procedure" and r.resource.get("status") == "completed"):
        found = _step_of(rec, maps, out)
        if found:
            procs.append(found)
    return procs + _coded_documents(case, maps)


def _coded_documents(case: Case, maps: Mappings) -> list[Proc]:
    """DocumentReferences whose `type` names a step (e.g. a cephalometric radiograph filed as a document). Other
    documents (notes, letters) are context, not procedures: neither a step nor listed as "not a workflow step"."""
    procs = []
    for rec in (r for r in case.records if r.type == "DocumentReference" and r.resource.get("status", "current") == "current"):
        for coding in fr.codings(rec.resource.get("type")):
            system, code = coding.get("system", ""), coding.get("code", "")
            entry = maps.codes.get(code) if maps.system_uri(code) == system else None
            known = maps.concept(system, code) or ((entry or {}).get("recorded") or None)
            if known:
                procs.append(Proc(rec, known["step"], dict(known.get("facts", {})), code))
                break
    return procs


def _step_of(rec: FhirResource, maps: Mappings, out: Derived) -> Proc | None:
    codings = fr.codings(rec.resource.get("code"))
    for coding in codings:
        system, code = coding.get("system", ""), coding.get("code", "")
        if system == WORKFLOW and code in maps.facts["step"]["values"]:
            return Proc(rec, code, {}, code)
        if system == WORKFLOW and code in PATIENT_STATUS:
            return Proc(rec, "evaluation", {"patient_status": PATIENT_STATUS[code]}, code)
        entry = maps.codes.get(code)
        if entry and maps.systems.get(entry["system"]) == system and entry.get("recorded"):
            return Proc(rec, entry["recorded"]["step"], dict(entry["recorded"].get("facts", {})), code)
        concept = maps.concept(system, code)  # SNOMED CT, LOINC, ... (terminology.yaml)
        if concept:
            return Proc(rec, concept["step"], dict(concept.get("facts", {})), code)
    unknown = [c for c in codings if c.get("system") == WORKFLOW]
    for coding in unknown:  # our own code system: an unknown code is a typo, reported
        code = coding.get("code", "")
        out.unmapped.append((code, rec.ref))
        message = f"code '{code}' ({WORKFLOW}) is not in the mappings{did_you_mean(code, maps.facts['step']['values'])}"
        out.problems.append(Problem.from_error(UnknownCode(message, source=rec.ref)))
    if not unknown:  # any other vocabulary: a procedure that is not a digital-workflow step (an extraction, a biopsy)
        first = next((c for c in codings if c.get("code")), {})
        out.not_steps.append({"ref": rec.ref, "code": str(first.get("code", "")), "system": str(first.get("system", ""))})
    return None


def _who(case: Case, rec: FhirResource, made: bool) -> bool | None:
    """True when the practice did it, False when a third party did, None when the record does not say.
    For a made item (`made`) an outside device means it was made outside; for a service (rendering,
    simulation, scan) the performer decides and the device only says where it was done."""
    key = ("who", rec.ref, made)
    if key not in case.memo:
        case.memo[key] = _who_uncached(case, rec, made)
    return case.memo[key]


def _who_uncached(case: Case, rec: FhirResource, made: bool) -> bool | None:
    devices = [case.practice.owns(case.index.canonical(r)) for r in fr.device_refs(rec.resource)]
    actors = [case.practice.owns(case.index.canonical(r)) for r in fr.actor_refs(rec.resource)]
    if made and False in devices:
        return False
    if True in actors or True in devices:
        return True
    return False if False in actors or False in devices else None


def _performer(case: Case, recs: list[FhirResource], made: bool = False) -> str:
    votes = [_who(case, r, made) for r in recs]
    return "third-party" if votes and all(v is False for v in votes) else "practice"


def _notes(case: Case, recs: list[FhirResource]) -> bool:
    return any(documents.notes_of(case, r) for r in recs)


# ------------------------------------------------------------------------------------------ evaluation
def _status_of_code(coding: dict, maps: Mappings) -> str:
    """Patient status implied by an E/M or evaluation code recorded as Encounter.type (e.g. CPT 99204)."""
    entry = maps.codes.get(coding.get("code", ""))
    recorded = (entry or {}).get("recorded") or {}
    if recorded.get("step") != "evaluation" or maps.systems.get(entry["system"]) != coding.get("system"):
        return ""
    return recorded.get("facts", {}).get("patient_status", "")


def _evaluation(case: Case, procs: list[Proc], maps: Mappings) -> list[Instance]:
    evals = [p for p in procs if p.step in ("evaluation", "oral-evaluation")]
    enc = case.encounter or {}
    if enc.get("status") in ("cancelled", "entered-in-error"):
        return []
    status = next((PATIENT_STATUS[c["code"]] for c in fr.codings(enc.get("type")) if c.get("code") in PATIENT_STATUS), "")
    status = status or next((s for c in fr.codings(enc.get("type")) if (s := _status_of_code(c, maps))), "")
    status = status or next((p.implied["patient_status"] for p in evals if "patient_status" in p.implied), "")
    if not status and not evals:
        return []
    minutes, source = fr.encounter_minutes(enc)
    inst = Instance("evaluation", {"patient_status": status or "unknown", "minutes": round(minutes) if minutes is not None else None,
                                   "minutes_source": source, "performer": "practice", "documented": source == "length",
                                   "scope": _scope(case, evals, maps)}, records=[p.record for p in evals])
    inst.add_evidence(case.encounter_ref, *(p.record.ref for p in evals))
    return [inst]


def _scope(case: Case, evals: list[Proc], maps: Mappings) -> str:
    """The evaluation's scope the record shows: a recorded CDT evaluation code, else the words of its Procedure
    (settings.evaluation.scope_words, first match in order), else unknown."""
    recorded = next((p.implied["scope"] for p in evals if "scope" in p.implied), "")
    if recorded:
        return recorded
    text = " ".join(documents.notes_of(case, p.record) + " " + documents.code_text_of(case, p.record) for p in evals).strip()
    for entry in maps.settings["evaluation"].get("scope_words", []) if text else []:
        if _said(maps, ("scope", entry["scope"]), entry["words"], text):
            return entry["scope"]
    return "unknown"


def _said(maps: Mappings, key: tuple, words: list[str], text: str) -> bool:
    """Whether `text` (lower case) holds one of `words` (a settings word list, compiled once per mappings)."""
    memo = maps.memo.setdefault("word-patterns", {})
    if key not in memo:
        memo[key] = documents.words_pattern(words)
    return memo[key] is not None and memo[key].search(text) is not None


# ------------------------------------------------------------------------------------------ imaging
def _imaging(case: Case, images: list[Image], procs: list[Proc], setting: str, maps: Mappings) -> list[Instance]:
    groups: dict[tuple[str, str], list[Image]] = {}
    for image in images:
        if image.kind in ("cbct", "ct", "panoramic", "cephalometric", "photograph"):
            key = "tmj" if image.kind == "cbct" and imaging.tmj_exposure(image, maps) else image.study_uid or image.uid
            groups.setdefault((image.kind, key), []).append(image)
    if len(groups.get(("cbct", "tmj"), ())) == 1:  # one TMJ exposure is no TMJ series: its size decides
        (single,) = groups.pop(("cbct", "tmj"))
        groups.setdefault(("cbct", single.study_uid or single.uid), []).append(single)
    instances = []
    kinds = {v: k for k, v in IMAGING_STEPS.items()}
    for (kind, _), imgs in sorted(groups.items()):
        same = [p for p in procs if IMAGING_STEPS.get(p.step) == kind]
        recorded = {k: v for p in same for k, v in p.implied.items()}  # a recorded code's facts (e.g. D0380: capture)
        instances.append(Instance(kinds[kind], recorded, records=[p.record for p in same], images=imgs))
    for proc in (p for p in procs if p.step in IMAGING_STEPS):  # with no image of its kind it stands alone
        same = next((i for i in instances if i.step == proc.step), None)
        if same is None:
            instances.append(Instance(proc.step, dict(proc.implied), records=[proc.record]))
        elif proc.record not in same.records:
            same.records.append(proc.record)
    interpret = [p.record for p in procs if p.step == "image-interpretation"]
    for inst in instances:
        _image_facts(case, inst, interpret, setting, maps)
    if interpret and not instances:
        inst = Instance("image-interpretation", {"component": "interpretation" if _performer(case, interpret) == "practice" else "none"}, records=interpret)
        inst.add_evidence(*(r.ref for r in interpret))
        instances.append(inst)
    return instances


def _image_facts(case: Case, inst: Instance, interpret: list[FhirResource], setting: str, maps: Mappings) -> None:
    imgs = inst.images
    captured, by = _captured(case, inst)
    interpreted, read_by = _interpreted(case, inst, interpret, captured)
    if setting == "facility":
        captured = False
    inst.facts.setdefault("component", {(True, True): "both", (True, False): "capture", (False, True): "interpretation"}.get((captured, interpreted), "none"))
    lead = imgs[0] if imgs else None
    if inst.step == "cbct" and len(imgs) >= 2 and all(imaging.tmj_exposure(i, maps) for i in imgs):
        inst.facts["fov"] = "tmj"  # two or more TMJ exposures: the TMJ series (contract section 3)
    elif inst.step == "cbct":
        fovs = {imaging.fov(i, maps) for i in imgs} - {"unknown"}
        inst.facts["fov"] = _widest(fovs) if fovs else inst.facts.get("fov") or _fov_from_records(inst, maps)
    inst.facts.setdefault("contrast", imaging.contrast(imgs, maps) if imgs else "none")
    per_image = inst.step == "photographs" and maps.settings["quantity"]["photographs"] == "per-image"
    inst.facts["units"] = max(sum(i.instances for i in imgs), 1) if per_image else 1
    inst.facts["device"] = (lead.device or lead.station) if lead else ""
    inst.facts["diameter_mm"] = max((i.diameter for i in imgs if i.diameter), default=None)
    inst.facts["height_mm"] = max((i.height for i in imgs if i.height), default=None)
    inst.facts["performer"] = "practice" if captured or interpreted else "third-party"
    inst.facts["acquirer_known"] = bool(by or read_by)
    inst.facts["acquired_by"] = "; ".join(x for x in (by, read_by) if x) or \
        "nothing in the evidence names who acquired or read it (no performer, device, institution or station); read as the practice's"
    _region_facts(inst, maps)
    inst.add_evidence(*(e for i in imgs for e in i.evidence), *(r.ref for r in inst.records))


def _region_facts(inst: Instance, maps: Mappings) -> None:
    """Body region (head and neck or not) and how the series was classified (CBCT or medical CT, how sure)."""
    regions = {imaging.region(i, maps) for i in inst.images}
    inst.facts["region"] = "outside" if regions == {"outside"} else "head-neck" if "head-neck" in regions else "unknown"
    inst.facts["body_part"] = ", ".join(sorted({i.body_part for i in inst.images if i.body_part})) or "not given"
    inst.facts["cbct_certain"] = all(i.cbct_certain for i in inst.images)
    inst.facts["kind_evidence"] = "; ".join(dict.fromkeys(i.why for i in inst.images if i.why)) or "recorded step"


def _widest(fovs: set[str]) -> str:
    order = ["tmj", "both-jaws", "maxilla", "mandible", "partial"]
    if {"maxilla", "mandible"} <= fovs:
        return "both-jaws"
    return next(f for f in order if f in fovs)


def _fov_from_records(inst: Instance, maps: Mappings) -> str:
    text = " ".join(t for r in inst.records for t in fr.texts(r.resource.get("bodySite")))
    return imaging.fov(Image(uid="", body_part=text.upper(), description=text), maps) if text else "unknown"


def _captured(case: Case, inst: Instance) -> tuple[bool, str]:
    """(captured by the practice, the evidence that says who) from the device, series performer, Procedure,
    institution, else the encounter's service provider; with none of them, assumed and the evidence is ''."""
    for image in inst.images:
        for verdict, what in ((case.practice.owns_device(image.serial, image.station), f"device {image.station or image.serial}"),
                              (_any_owned(case, image.performers), "series performer"),
                              (case.practice.owns_institution(image.institution), f"institution {image.institution}")):
            if verdict is not None:
                return verdict, f"acquired by {'the practice' if verdict else 'a third party'} ({what})"
    votes = [_who(case, r, False) for r in inst.records]
    if any(v is not None for v in votes):
        return True in votes, f"acquired by {'the practice' if True in votes else 'a third party'} (the Procedure)"
    if fr.first_ref((case.encounter or {}).get("serviceProvider")):
        practice = _practice_encounter(case)
        return practice, f"acquired in {'the practice' if practice else 'another facility'}'s encounter"
    return _practice_encounter(case), ""


def _interpreted(case: Case, inst: Instance, interpret: list[FhirResource], captured: bool) -> tuple[bool, str]:
    readers = [r for i in inst.images for r in i.interpreters] + _report_readers(case, inst)
    verdict = _any_owned(case, readers)
    if verdict or (interpret and _performer(case, interpret) == "practice"):
        return True, "read by the practice"
    if verdict is False:
        return False, "read by a third party"
    return captured, ""


def _report_readers(case: Case, inst: Instance) -> list[str]:
    studies = {i.study_ref for i in inst.images}
    out = []
    for rec in (r for r in case.records if r.type == "DiagnosticReport"):
        if studies & {case.index.canonical(r) for r in fr.refs(rec.resource.get("imagingStudy"))}:
            out += [case.index.canonical(r) for r in fr.actor_refs(rec.resource)]
            inst.add_evidence(rec.ref)
    return out


def _any_owned(case: Case, refs: list[str]) -> bool | None:
    verdicts = [case.practice.owns(r) for r in refs]
    if True in verdicts:
        return True
    return False if False in verdicts else None


def _practice_encounter(case: Case) -> bool:
    provider = fr.first_ref((case.encounter or {}).get("serviceProvider"))
    return not provider or case.practice.owns(case.index.canonical(provider)) is not False


def _setting(case: Case, maps: Mappings) -> str:
    enc = case.encounter or {}
    if fr.encounter_class(enc) in maps.settings["setting"]["facility_classes"]:
        return "facility"
    return "office" if _practice_encounter(case) else "facility"


# ------------------------------------------------------------------------------------------ 3D rendering
def _renderings(case: Case, images: list[Image], volumes: list[Image], procs: list[Proc], maps: Mappings) -> list[Instance]:
    found: dict[str, Instance] = {}
    units = {v.station.lower() for v in volumes} | {v.serial.lower() for v in volumes}
    derived: dict[str, list[bool | None]] = {}
    for image in (i for i in images if i.kind == "derived"):
        place = "acquisition" if {image.station.lower(), image.serial.lower()} & (units - {""}) else "independent"
        inst = found.setdefault(place, Instance("3d-rendering", {"workstation": place, "device": image.device or image.station}))
        inst.add_evidence(*image.evidence)
        derived.setdefault(place, []).append(_made_by_practice(case, image, volumes))
    for proc in (p for p in procs if p.step in ("3d-rendering", "virtual-treatment-simulation")):
        if proc.step == "virtual-treatment-simulation" and (found or not volumes):
            continue
        place = proc.implied.get("workstation") or _workstation(case, proc.record, volumes)
        inst = found.setdefault(place, Instance("3d-rendering", {"workstation": place, "device": _device_name(case, proc.record) or "no workstation recorded, read as independent"}))
        inst.records.append(proc.record)
        inst.add_evidence(proc.record.ref)
    for place, inst in found.items():  # the practice's on evidence; silent records count in the practice's own encounter
        votes = [_who(case, r, False) for r in inst.records] + derived.get(place, [])
        mine = True in votes or (None in votes and _practice_encounter(case))
        inst.facts["performer"] = "practice" if mine else "third-party"
    return list(found.values())


def _made_by_practice(case: Case, image: Image, volumes: list[Image]) -> bool | None:
    """Who made a derived series (a rendering): its own device, performer or institution; where it says nothing,
    whoever captured the volume it was made from. 76376/76377 need the practice's own post-processing."""
    for verdict in (case.practice.owns_device(image.serial, image.station), _any_owned(case, image.performers),
                    case.practice.owns_institution(image.institution)):
        if verdict is not None:
            return verdict
    source = [v for v in volumes if v.study_uid and v.study_uid == image.study_uid]
    verdicts = [case.practice.owns_device(v.serial, v.station) for v in source]
    return True if True in verdicts else False if False in verdicts else None


def _workstation(case: Case, rec: FhirResource, volumes: list[Image]) -> str:
    acquisition = {v.serial.lower() for v in volumes} | {v.station.lower() for v in volumes}
    for ref in fr.device_refs(rec.resource):
        device = case.index.get(ref)
        if device:
            names = {str(device.resource.get("serialNumber", "")).lower()} | {str(n.get("name", "")).lower() for n in device.resource.get("deviceName") or []}
            return "acquisition" if names & (acquisition - {""}) else "independent"
    return "independent"


def _device_name(case: Case, rec: FhirResource) -> str:
    for ref in fr.device_refs(rec.resource):
        device = case.index.get(ref)
        if device:
            return fr.device_words(device.resource)
    return ""


# ------------------------------------------------------------------------------------------ surface scans
def _surface_scans(case: Case, images: list[Image], procs: list[Proc], maps: Mappings, out: Derived) -> list[Instance]:
    found: dict[str, Instance] = {}
    for proc in (p for p in procs if p.step in SCAN_STEPS):
        inst = found.setdefault(proc.step, Instance(proc.step, {"device": _device_name(case, proc.record)}))
        inst.records.append(proc.record)
        inst.add_evidence(proc.record.ref)
    for text, largest, ref in _scan_sources(case, images, maps):
        kind = classify_scan(text, largest, maps)
        if not kind.step:  # no scan of the patient: say why, code nothing
            detail = f"{ref}: {kind.why}".replace("{", "{{").replace("}", "}}")  # the detail is a message template
            out.notices.append({"kind": "not-a-scan", "codes": maps.devices.get("not_a_scan", {}).get("codes", []), "detail": detail})
            continue
        step = kind.step if kind.strong or kind.step in found else next(
            (s for s in sorted(found) if FAMILY[s] == FAMILY[kind.step]), kind.step)
        inst = found.setdefault(step, Instance(step, {"device": kind.device}))
        inst.facts["device"] = inst.facts.get("device") or kind.device
        inst.facts["files"] = inst.facts.get("files", 0) + 1
        inst.add_evidence(ref)
    per_file = maps.settings["quantity"]["surface_scan"] == "per-file"
    for inst in found.values():
        inst.facts["performer"] = _performer(case, inst.records) if inst.records else "practice"
        files = inst.facts.pop("files", 0)
        inst.facts["units"] = max(files, 1) if per_file else 1
    return [found[k] for k in sorted(found)]


def _scan_sources(case: Case, images: list[Image], maps: Mappings) -> list[tuple[str, float | None, str]]:
    out = [(m.header, max(m.extent_mm), m.ref) for m in case.meshes]
    for image in images:  # OSS always; an encapsulated STL (M3D) when its words or device say it is a scan
        text = " ".join((image.description, image.device, image.station))
        scan = classify_scan(text, None, maps) if image.modality.upper() == "M3D" else None
        if image.kind == "surface" or (scan and scan.step and scan.device):
            out.append((text, None, f"Series/{image.uid}"))
    for rec in (r for r in case.records if r.type in ("DocumentReference", "Media")):
        attachments = fr.attachments(rec.resource)
        if any(a.get("contentType") in MESH_TYPES for a in attachments):
            words = [rec.resource.get("description", "")] + [a.get("title", "") for a in attachments] + fr.texts(rec.resource.get("type"))
            out.append((" ".join(w for w in words if isinstance(w, str) and w), None, rec.ref))
    return out


MESH_TYPES = ("model/stl", "application/sla", "model/x.stl-binary", "application/ply")


# ------------------------------------------------------------------------------------------ everything else
def _other_steps(case: Case, procs: list[Proc], maps: Mappings) -> list[Instance]:
    handled = {"evaluation", "oral-evaluation", "image-interpretation", "3d-rendering", *IMAGING_STEPS, *SCAN_STEPS}
    groups: dict[tuple[str, str], Instance] = {}
    for proc in (p for p in procs if p.step not in handled):
        performer = proc.implied.get("performer") or _performer(case, [proc.record], proc.step in MADE)
        inst = groups.setdefault((proc.step, performer), Instance(proc.step, {"performer": performer}))
        inst.records.append(proc.record)
        inst.add_evidence(proc.record.ref)
        inst.facts["device"] = inst.facts.get("device") or _device_name(case, proc.record)
    for inst in groups.values():
        policy = maps.settings["quantity"].get(PER_ITEM.get(inst.step, ""), "per-visit")
        inst.facts["units"] = len(inst.records) if policy in ("per-splint", "per-model") else 1
        inst.facts["documented"] = _notes(case, inst.records)
        if inst.step in _steps_reading(maps, "cost_bearer"):
            inst.facts["cost_bearer"] = _cost_bearer(case, inst, maps)
        if inst.step == "3d-print-model":
            inst.facts["print_source"] = _print_words(case, inst, maps)
    return [groups[k] for k in sorted(groups)]


def _steps_reading(maps: Mappings, fact: str) -> frozenset[str]:
    """The steps some rule tests `fact` for (a fact no rule of a step reads is not worth computing for it)."""
    key = ("steps-reading", fact)
    if key not in maps.memo:
        maps.memo[key] = frozenset(step for rule in maps.rules if fact in rule.when for step in rule.steps)
    return maps.memo[key]


def _cost_bearer(case: Case, inst: Instance, maps: Mappings) -> str:
    """'practice' only on evidence it bore the cost (settings.cost_bearer): an invoice or supply record, an item it
    made itself, or a practice that always buys its hardware; else 'unknown' (the hospital setting: _case_facts)."""
    cfg = maps.settings.get("cost_bearer", {})
    if cfg.get("practice_pays") or (cfg.get("made_in_house", False) and inst.facts.get("performer") == "practice"):
        return "practice"
    texts = [documents.notes_of(case, r) for r in inst.records] + [t for _, t in documents.case_texts(case, "document")]
    words = cfg.get("invoice_words", [])
    if any(_said(maps, ("invoice",), words, t) for t in texts) or documents.case_texts(case, "supply-record"):
        return "practice"
    return "unknown"


def _print_words(case: Case, inst: Instance, maps: Mappings) -> str:
    """What the print's own record says it was made from (settings.print_source), '' when it says nothing."""
    text = " ".join(documents.notes_of(case, r) + " " + documents.code_text_of(case, r) for r in inst.records)
    cfg = maps.settings.get("print_source", {})
    for source, key in (("volume", "volume_words"), ("surface-scan", "surface_words")):
        if _said(maps, ("print", key), cfg.get(key, []), text):
            return source
    return ""


def _case_facts(case: Case, instances: list[Instance], volumes: list[Image], setting: str, maps: Mappings) -> None:
    count = len({v.uid for v in volumes})
    scans = sum(1 for i in instances if i.step in SCAN_STEPS)
    for inst in (i for i in instances if i.step == "3d-print-model"):  # else what the case holds: scans, then volumes
        inst.facts["print_source"] = inst.facts.get("print_source") or ("surface-scan" if scans else "volume" if count else "unknown")
    cls = fr.encounter_class(case.encounter or {})
    place = "inpatient" if cls in maps.settings["place"]["inpatient_classes"] else "emergency" if cls in maps.settings["place"]["emergency_classes"] else "outpatient"
    shared = {"claim": case.claim, "setting": setting, "place": place, "encounter_class": cls,
              "on_volume": count > 0, "volumes": count, "surface_scans": scans, "images_3d": count + scans}
    for inst in instances:
        inst.facts = {**shared, "units": 1, "documented": True, "cost_bearer": "facility" if setting == "facility" else "unknown", **inst.facts, "step": inst.step}
        if setting == "facility":
            inst.facts["cost_bearer"] = "facility"
        if inst.step in ("virtual-treatment-simulation", "image-fusion"):
            inst.facts["documented"] = _notes(case, inst.records)
