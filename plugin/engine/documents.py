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

import re
from typing import Any, Callable

from plugin import resources as fr
from plugin.case import Case
from plugin.mappings import Mappings
from plugin.suggestion import DocCheck

Texts = list[tuple[str, str]]  # (reference, lower-case text)
IMAGE_REFS = ("Series/", "File/", "ImagingStudy/", "DocumentReference/", "Media/")
SUPPLY_TYPES = ("SupplyDelivery", "Invoice", "ChargeItem")


class Places(dict):
    """The places one step's documentation is looked for in, each read on first use (most items need one or two)."""

    __slots__ = ("case", "records", "evidence")

    def __init__(self, case: Case, records: list, evidence: list[str]) -> None:
        super().__init__()
        self.case, self.records, self.evidence = case, records, evidence

    def __missing__(self, place: str) -> Texts:
        texts = self[place] = _PLACES[place](self)
        return texts


def step_sources(case: Case, records: list, evidence: list[str]) -> Places:
    return Places(case, records, evidence)


def notes_of(case: Case, rec: Any) -> str:
    """A record's notes (note, outcome, conclusion) in lower case, once per case."""
    key = ("notes", rec.ref)
    if key not in case.memo:
        case.memo[key] = _low(fr.notes(rec.resource))
    return case.memo[key]


def code_text_of(case: Case, rec: Any) -> str:
    key = ("code-text", rec.ref)
    if key not in case.memo:
        case.memo[key] = _low(fr.texts(rec.resource.get("code")))
    return case.memo[key]


def case_texts(case: Case, place: str) -> Texts:
    """A case-level place (the same for every step of the case), read once per case."""
    key = ("documents", place)
    if key not in case.memo:
        case.memo[key] = _CASE_PLACES[place](case)
    return case.memo[key]


def check(needs: tuple[str, ...], places: Places | None, maps: Mappings) -> tuple[DocCheck, ...]:
    catalogue = maps.memo.get("documentation") or _catalogue(maps)
    out = []
    for item in needs:
        spec = catalogue.get(item)
        if spec is None:
            continue
        label, where, words = spec
        found = [ref for place in where for ref, text in (places[place] if places is not None else ())
                 if text and (words is None or words.search(text))]
        out.append(DocCheck(label, bool(found), tuple(dict.fromkeys(found)) if len(found) > 1 else tuple(found)))
    return tuple(out)


def _catalogue(maps: Mappings) -> dict[str, tuple[str, tuple[str, ...], re.Pattern | None]]:
    """Each item: its label, its places and one pattern of its words (None: any text there shows it)."""
    maps.memo["documentation"] = {k: (v["label"], tuple(v["in"]), words_pattern(v.get("words", ())))
                                  for k, v in maps.settings.get("documentation", {}).items()}
    return maps.memo["documentation"]


def words_pattern(words: Any) -> re.Pattern | None:
    """One pattern for a word list (lower-case substrings), None for an empty list."""
    return re.compile("|".join(re.escape(w.lower()) for w in words)) if words else None


def _reports(case: Case) -> list[tuple[str, str, frozenset[str]]]:
    return [(r.ref, _low(_report_texts(r.resource)), frozenset(fr.refs(r.resource.get("imagingStudy"))))
            for r in case.records if r.type == "DiagnosticReport"]


def _step_reports(p: Places) -> Texts:
    """The step's reports: those about its studies, and those about no study; every report when it has none."""
    reports = case_texts(p.case, "_reports")
    studies = {e for e in p.evidence if e.startswith("ImagingStudy/")}
    return [(ref, text) for ref, text, about in reports if not studies or not about or about & studies]


def _encounter_reason(case: Case) -> Texts:
    enc = case.encounter or {}
    return [(case.encounter_ref, _low(fr.texts(enc.get("reasonCode")) + fr.texts(enc.get("reason"))))] if enc else []


def _encounter_length(case: Case) -> Texts:
    """Encounter.length with a number: the documented time (resources.encounter_minutes reads it the same way)."""
    length = (case.encounter or {}).get("length")
    documented = isinstance(length, dict) and isinstance(length.get("value"), (int, float))
    return [(case.encounter_ref, "length")] if documented else []


_CASE_PLACES: dict[str, Callable[[Case], Any]] = {
    "_reports": _reports,
    "document": lambda case: [(r.ref, _low(_document_texts(r.resource))) for r in case.records if r.type == "DocumentReference"],
    "encounter-reason": _encounter_reason,
    "encounter-length": _encounter_length,
    "supply-record": lambda case: [(r.ref, _low(fr.notes(r.resource) + fr.texts(r.resource.get("code"))) or "record")
                                   for r in case.records if r.type in SUPPLY_TYPES],
}
_PLACES: dict[str, Callable[[Places], Texts]] = {
    "procedure-note": lambda p: [(r.ref, notes_of(p.case, r)) for r in p.records if r.type == "Procedure"],
    "report": _step_reports,
    "images": lambda p: [(e, "image") for e in p.evidence if e.startswith(IMAGE_REFS)],
    **{name: (lambda n: lambda p: case_texts(p.case, n))(name) for name in ("document", "encounter-reason",
                                                                              "encounter-length", "supply-record")},
}


def _low(parts: list[str]) -> str:
    return " ".join(p for p in parts if isinstance(p, str)).strip().lower()


def _report_texts(res: dict) -> list[str]:
    forms = [f.get("title", "") for f in res.get("presentedForm") or [] if isinstance(f, dict)]
    return [res.get("conclusion", "")] + fr.texts(res.get("code")) + forms + fr.notes(res)


def _document_texts(res: dict) -> list[str]:
    contents = [c.get("attachment", {}) for c in res.get("content") or [] if isinstance(c, dict)]
    titles = [a.get("title", "") for a in contents if isinstance(a, dict)]
    return [res.get("description", "")] + fr.texts(res.get("type")) + titles
