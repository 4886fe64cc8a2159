"""The documentation a case's record holds, and whether each item a line's rule names is there.

What each documentation item is and where to look for it is data (settings.yaml `documentation`): its words, the
places (`in`) and the words that show it (`words`, matched as lower-case substrings; none = any text there). Places:
  procedure-note    notes of the step's own Procedure records (note, outcome)
  report            DiagnosticReports of the case (conclusion, code text, presented form titles), those about the
                    step's images first
  document          DocumentReferences of the case (description, type, attachment titles)
  encounter-reason  Encounter.reasonCode / reason text
  encounter-length  Encounter.length (the practitioner's documented time)
  images            the step's own images or scan files (series, studies, files)
  supply-record     SupplyDelivery / Invoice / ChargeItem resources of the case
"""
from __future__ import annotations

from typing import Any

from plugin import resources as fr
from plugin.case import Case
from plugin.mappings import Mappings
from plugin.suggestion import DocCheck

Texts = list[tuple[str, str]]  # (reference, lower-case text)
IMAGE_REFS = ("Series/", "File/", "ImagingStudy/", "DocumentReference/", "Media/")
SUPPLY_TYPES = ("SupplyDelivery", "Invoice", "ChargeItem")


def case_sources(case: Case) -> dict[str, Texts]:
    """The case-level places (the same for every step of the case), computed once per case."""
    key = ("documents",)
    if key not in case.memo:
        enc = case.encounter or {}
        _, source = fr.encounter_minutes(enc)
        case.memo[key] = {
            "report": [(r.ref, _low(_report_texts(r.resource))) for r in case.records if r.type == "DiagnosticReport"],
            "document": [(r.ref, _low(_document_texts(r.resource))) for r in case.records if r.type == "DocumentReference"],
            "encounter-reason": [(case.encounter_ref, _low(fr.texts(enc.get("reasonCode")) + fr.texts(enc.get("reason"))))]
            if enc else [],
            "encounter-length": [(case.encounter_ref, "length")] if source == "length" else [],
            "supply-record": [(r.ref, _low(fr.notes(r.resource) + fr.texts(r.resource.get("code"))) or "record")
                              for r in case.records if r.type in SUPPLY_TYPES],
            "_report_studies": {r.ref: set(fr.refs(r.resource.get("imagingStudy"))) for r in case.records
                                if r.type == "DiagnosticReport"},
        }
    return case.memo[key]


def step_sources(case: Case, records: list, evidence: list[str]) -> dict[str, Any]:
    """The places of one step instance: its Procedure notes and its images, beside the case's own."""
    shared = case_sources(case)
    studies = {e for e in evidence if e.startswith("ImagingStudy/")}
    about = [t for t in shared["report"] if shared["_report_studies"].get(t[0], set()) & studies]
    unlinked = [t for t in shared["report"] if not shared["_report_studies"].get(t[0])]
    return {**shared,
            "procedure-note": [(r.ref, _low(fr.notes(r.resource))) for r in records if r.type == "Procedure"],
            "report": about + unlinked if studies else shared["report"],
            "images": [(e, "image") for e in evidence if e.startswith(IMAGE_REFS)]}


def check(needs: tuple[str, ...], sources: dict[str, Any], maps: Mappings) -> tuple[DocCheck, ...]:
    catalogue = maps.settings.get("documentation", {})
    return tuple(_one(catalogue[item], sources) for item in needs if item in catalogue)


def _one(spec: dict, sources: dict[str, Any]) -> DocCheck:
    words = [w.lower() for w in spec.get("words", [])]
    found = [ref for place in spec["in"] for ref, text in sources.get(place, [])
             if text and (not words or any(w in text for w in words))]
    return DocCheck(spec["label"], bool(found), tuple(dict.fromkeys(found)))


def _low(parts: list[str]) -> str:
    return " ".join(p for p in parts if isinstance(p, str)).strip().lower()


def _report_texts(res: dict) -> list[str]:
    forms = [f.get("title", "") for f in res.get("presentedForm") or [] if isinstance(f, dict)]
    return [res.get("conclusion", "")] + fr.texts(res.get("code")) + forms + fr.notes(res)


def _document_texts(res: dict) -> list[str]:
    contents = [c.get("attachment", {}) for c in res.get("content") or [] if isinstance(c, dict)]
    titles = [a.get("title", "") for a in contents if isinstance(a, dict)]
    return [res.get("description", "")] + fr.texts(res.get("type")) + titles
