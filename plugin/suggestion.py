"""What the engine answers for one case: charge lines and notices (the contract's section 5).

Everything in output/ renders a `Suggestion`; nothing here knows how it was inferred.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

CDT = "http://www.ada.org/cdt"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"


@dataclass(frozen=True)
class Alternative:
    code: str
    why: str
    system: str = ""
    modifiers: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code, "why": self.why}
        if self.modifiers:
            d["modifiers"] = list(self.modifiers)
        return d


class DocCheck(NamedTuple):
    """One documentation item a line's rule names, looked for in the record (settings.yaml `documentation`)."""
    item: str  # the item's words, as in Line.documentation
    present: bool
    evidence: tuple[str, ...] = ()  # where it was found: "Procedure/p1", "DiagnosticReport/r1", "Encounter/e1"

    def as_dict(self) -> dict[str, Any]:
        return {"item": self.item, "present": self.present, "evidence": list(self.evidence)}


@dataclass(frozen=True)
class Line:
    code: str
    system: str
    label: str  # the project's own short label, never a licensed descriptor
    modifiers: tuple[str, ...]
    quantity: int
    step: str
    rule: str  # id of the rule that made the line
    rationale: str
    evidence: tuple[str, ...]  # "ImagingStudy/img-1", "Series/1.2.3", "File/maxilla.stl"
    documentation: tuple[str, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    needs: tuple[str, ...] = ()  # ids of the documentation items (settings.yaml `documentation`), same order
    documentation_check: tuple[DocCheck, ...] = ()  # each item present or missing in this case's record

    def with_evidence(self, evidence: tuple[str, ...]) -> "Line":
        return self.for_case(evidence, self.documentation_check)

    def for_case(self, evidence: tuple[str, ...], checks: tuple["DocCheck", ...]) -> "Line":
        """This line with a case's evidence and documentation checks (positional: hot path of the engine)."""
        return Line(self.code, self.system, self.label, self.modifiers, self.quantity, self.step, self.rule,
                    self.rationale, evidence, self.documentation, self.alternatives, self.needs, checks)

    @property
    def key(self) -> str:
        """Stable identity of the line within its case: code plus modifiers."""
        return "-".join((self.code, *self.modifiers))

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "system": self.system,
            "label": self.label,
            "modifiers": list(self.modifiers),
            "quantity": self.quantity,
            "step": self.step,
            "rule": self.rule,
            "rationale": self.rationale,
            "evidence": list(self.evidence),
            "documentation": list(self.documentation),
            "documentation_check": [d.as_dict() for d in self.documentation_check],
            "alternatives": [a.as_dict() for a in self.alternatives],
        }


@dataclass(frozen=True)
class Notice:
    kind: str
    codes: tuple[str, ...]
    message: str
    rule: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "codes": list(self.codes), "message": self.message, "rule": self.rule}


@dataclass
class Suggestion:
    """The answer for one case."""

    case: str  # "Encounter/enc-1" or "Patient/pt-1|2026-10-14"
    claim: str  # "dental" | "medical"
    practice: str  # "system|value"
    patient: str = ""  # "Patient/pt-1" when a Patient resource is known
    patient_identifier: str = ""  # "system|value" or bare value (e.g. DICOM PatientID) otherwise
    patient_assigner: str = ""  # who issued patient_identifier when no system says it (DICOM IssuerOfPatientID)
    encounter: str = ""  # "Encounter/enc-1" when known
    date: str = ""  # ISO date of service
    mappings_version: str = ""
    lines: list[Line] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # Problem.as_dict() of what was not used
    explanation: list[dict[str, Any]] = field(default_factory=list)  # engine/explain.py, on request
    not_steps: list[dict[str, str]] = field(default_factory=list)  # {"ref", "code", "system"}: coded records that are no workflow step

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "claim": self.claim,
            "practice": self.practice,
            "patient": self.patient,
            "patient_identifier": self.patient_identifier,
            **({"patient_assigner": self.patient_assigner} if self.patient_assigner else {}),
            "encounter": self.encounter,
            "date": self.date,
            "mappings_version": self.mappings_version,
            "lines": [line.as_dict() for line in self.lines],
            "notices": [n.as_dict() for n in self.notices],
            "skipped": list(self.skipped),
            "not_steps": list(self.not_steps),
            **({"explanation": self.explanation} if self.explanation else {}),
        }
