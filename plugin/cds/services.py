"""The CDS Services this plugin offers (the discovery document) and their prefetch templates.

Each service names its hook (CDS Hooks 2.0 hook catalogue) and asks the EHR to prefetch what the coding engine
reads for the encounter in context: the Encounter, its Procedures, ImagingStudies and DocumentReferences, the
Patient and the patient's Coverage (claim form). Templates use the spec's prefetch tokens only
(`{{context.patientId}}`, `{{context.encounterId}}`) and the restricted query forms the spec recommends (read by
id, search by reference).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

ENCOUNTER_PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "encounter": "Encounter/{{context.encounterId}}",
    "procedures": "Procedure?encounter=Encounter/{{context.encounterId}}",
    "imagingStudies": "ImagingStudy?encounter=Encounter/{{context.encounterId}}",
    "documents": "DocumentReference?encounter=Encounter/{{context.encounterId}}",
    "coverage": "Coverage?patient=Patient/{{context.patientId}}",
}
PATIENT_PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "coverage": "Coverage?patient=Patient/{{context.patientId}}",
}


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: str
    description: str
    prefetch: dict[str, str]
    needs_encounter: bool   # the hook's context must name the encounter (else 400)
    charges: bool           # cards offer the charge lines (else documentation reminders only)

    def discovery(self) -> dict:
        return {"hook": self.hook, "id": self.id, "title": self.title, "description": self.description,
                "prefetch": dict(self.prefetch)}


SERVICES = (
    Service("dwcoder-encounter-discharge", "encounter-discharge", "Charge capture at discharge",
            "Suggested CDT/CPT charge lines for the encounter being closed, with their reasons, and the "
            "documentation each still needs before the encounter is signed.", ENCOUNTER_PREFETCH, True, True),
    Service("dwcoder-order-sign", "order-sign", "Charge capture when orders are signed",
            "Suggested CDT/CPT charge lines for the encounter in context (imaging, planning, guides, prints), "
            "with the documentation each still needs.", ENCOUNTER_PREFETCH, False, True),
    Service("dwcoder-appointment-book", "appointment-book", "Open documentation before the next visit",
            "Documentation still missing for this patient's coded encounters, so it can be added before the "
            "next visit is booked.", PATIENT_PREFETCH, False, False),
)
BY_ID = {s.id: s for s in SERVICES}

_TOKEN = re.compile(r"\{\{\s*context\.([A-Za-z][A-Za-z0-9]*)\s*\}\}")
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def discovery() -> dict:
    return {"services": [s.discovery() for s in SERVICES]}


def render(template: str, context: dict) -> str | None:
    """The template with its tokens replaced from the hook's context; None when a token has no usable value
    (a context field absent, not a string, or not a FHIR id: never put into a URL)."""
    missing = False

    def value(match: re.Match) -> str:
        nonlocal missing
        got = context.get(match.group(1))
        if not isinstance(got, str) or not FHIR_ID.fullmatch(got):
            missing = True
            return ""
        return got

    out = _TOKEN.sub(value, template)
    return None if missing else out


def split(query: str) -> tuple[str, str | None, dict[str, str]]:
    """("Type", id or None, search params) of a rendered template ("Encounter/e1" or "Procedure?encounter=e1")."""
    path, _, params = query.partition("?")
    rtype, _, rid = path.partition("/")
    return rtype, (rid or None), dict(parse_qsl(params, keep_blank_values=False))
