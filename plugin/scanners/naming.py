"""Linking an exported file to its patient: a filename pattern or a sidecar JSON, never a guess.

Patterns (SCANNER_PATTERNS) are file names with placeholders, matched against the whole name (case-insensitive):

    {PatientID}   the patient's identifier value in the system SCANNER_PATIENT_SYSTEM (one or more characters)
    {date}        8 digits, or YYYY-MM-DD            {jaw}   letters (upper, lower, maxilla, ...)
    {encounter}   an Encounter id (FHIR id characters)          {any}   anything, also nothing
    *             anything, also nothing

e.g. `{PatientID}_{date}_{jaw}.stl` links `MRN-R_20260504_upper.stl` to identifier `urn:mrn|MRN-R`.
The first pattern that matches wins. A sidecar `<file name>.json` (e.g. `upper.stl.json`) wins over patterns:

    {"patient": {"system": "urn:mrn", "value": "MRN-R"}, "encounter": "Encounter/enc", "date": "2026-05-04"}
    ("patient" may also be "urn:mrn|MRN-R"; "encounter" and "date" are optional)

A file that neither links becomes `Unlinked(reason)`; so does a sidecar and a name that name different patients.
The file is named in the evidence (the ChargeItem's "file <name>") without the identifier part of its name.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from plugin.errors import ConfigError

PLACEHOLDERS = {
    "PatientID": r"(?P<PatientID>.+?)",
    "date": r"(?P<date>\d{8}|\d{4}-\d{2}-\d{2})",
    "jaw": r"(?P<jaw>[A-Za-z]+)",
    "encounter": r"(?P<encounter>[A-Za-z0-9\-.]{1,64})",
    "any": r".*?",
}
_TOKEN = re.compile(r"\{([A-Za-z]+)\}|\*")
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
MAX_SIDECAR_BYTES = 64 * 1024
MAX_IDENTIFIER = 150


@dataclass(frozen=True)
class Link:
    """What links the file: the patient's identifier "system|value", an Encounter reference, the date, and the
    name the evidence gets (the file name without the identifier)."""

    patient: str
    encounter: str = ""
    date: str = ""
    name: str = ""
    how: str = ""   # "pattern" | "sidecar" (for the operator, never the values)


@dataclass(frozen=True)
class Unlinked:
    reason: str


def compile_pattern(pattern: str) -> re.Pattern:
    """The regular expression of a pattern; ConfigError naming the pattern when it is not usable."""
    out, pos, names = [], 0, []
    for m in _TOKEN.finditer(pattern):
        out.append(re.escape(pattern[pos:m.start()]))
        if m.group(0) == "*":
            out.append(".*?")
        else:
            name = m.group(1)
            if name not in PLACEHOLDERS:
                raise ConfigError(f"SCANNER_PATTERNS: {pattern!r}: unknown placeholder {{{name}}} "
                                  f"(known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}, *)")
            if name in names and name != "any":
                raise ConfigError(f"SCANNER_PATTERNS: {pattern!r}: {{{name}}} appears twice")
            names.append(name)
            out.append(PLACEHOLDERS[name])
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    if "PatientID" not in names:
        raise ConfigError(f"SCANNER_PATTERNS: {pattern!r} has no {{PatientID}}: it could not link a file to a patient")
    return re.compile("".join(out), re.IGNORECASE)


def compile_patterns(patterns: tuple[str, ...] | list[str]) -> tuple[re.Pattern, ...]:
    return tuple(compile_pattern(p) for p in patterns)


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def link(path: Path, patterns: tuple[re.Pattern, ...], system: str) -> Link | Unlinked:
    """The file's link by its sidecar, else by the first matching pattern; Unlinked with the reason otherwise."""
    from_name = _by_name(path.name, patterns, system)
    side = sidecar_path(path)
    if side.is_file():
        from_sidecar = _by_sidecar(side, path.name)
        if isinstance(from_sidecar, Unlinked):
            return from_sidecar
        if isinstance(from_name, Link) and from_name.patient != from_sidecar.patient:
            return Unlinked("the sidecar and the file name name different patients: fix one of them")
        name = from_name.name if isinstance(from_name, Link) else path.name
        return Link(from_sidecar.patient, from_sidecar.encounter, from_sidecar.date or
                    (from_name.date if isinstance(from_name, Link) else ""), name, "sidecar")
    if isinstance(from_name, Link):
        return from_name
    if not patterns:
        return Unlinked(f"no sidecar {side.name} and no SCANNER_PATTERNS configured")
    return Unlinked(f"the file name matches none of the {len(patterns)} SCANNER_PATTERNS and there is no sidecar {side.name}")


def _by_name(name: str, patterns: tuple[re.Pattern, ...], system: str) -> Link | Unlinked | None:
    for pattern in patterns:
        m = pattern.fullmatch(name)
        if m is None:
            continue
        value = m.group("PatientID").strip()
        if not value or len(value) > MAX_IDENTIFIER or '"' in value or ";" in value:
            return Unlinked("the {PatientID} part of the file name is empty, too long or holds a quote or ';'")
        if not system:
            return Unlinked("a pattern matched but SCANNER_PATIENT_SYSTEM is not set (the identifier's system)")
        groups = m.groupdict()
        encounter = f"Encounter/{groups['encounter']}" if groups.get("encounter") else ""
        return Link(f"{system}|{value}", encounter, _iso(groups.get("date") or ""), _without(name, m), "pattern")
    return None


def _without(name: str, m: re.Match) -> str:
    """The file name with the identifier cut out (`MRN-R_20260504_upper.stl` -> `20260504_upper.stl`)."""
    suffix = Path(name).suffix
    stem = name[:len(name) - len(suffix)] if suffix else name
    start, end = m.span("PatientID")
    left, right = stem[:min(start, len(stem))].rstrip("_-. "), stem[min(end, len(stem)):].lstrip("_-. ")
    rest = left + ("_" if left and right else "") + right
    return (rest or "scan") + suffix


def _iso(date: str) -> str:
    return f"{date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) == 8 else date


def _by_sidecar(side: Path, name: str) -> Link | Unlinked:
    try:
        raw = side.read_bytes()[:MAX_SIDECAR_BYTES + 1]
    except OSError as exc:
        return Unlinked(f"the sidecar {side.name} cannot be read ({type(exc).__name__})")
    if len(raw) > MAX_SIDECAR_BYTES:
        return Unlinked(f"the sidecar {side.name} is over {MAX_SIDECAR_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return Unlinked(f"the sidecar {side.name} is not valid JSON (yet: it is read again at the next poll)")
    if not isinstance(data, dict):
        return Unlinked(f"the sidecar {side.name} is not a JSON object")
    patient = _identifier(data.get("patient"))
    if not patient:
        return Unlinked(f'the sidecar {side.name} has no "patient" identifier ({{"system": ..., "value": ...}} '
                        'or "system|value")')
    encounter = data.get("encounter") or ""
    if isinstance(encounter, dict):
        encounter = encounter.get("reference") or ""
    if encounter and not (isinstance(encounter, str) and encounter.startswith("Encounter/")
                          and _FHIR_ID.fullmatch(encounter.removeprefix("Encounter/"))):
        return Unlinked(f'the sidecar {side.name}: "encounter" must be "Encounter/<id>"')
    date = data.get("date") or ""
    if date and not (isinstance(date, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", date)):
        return Unlinked(f'the sidecar {side.name}: "date" must be YYYY-MM-DD')
    return Link(patient, encounter, date, name, "sidecar")


def _identifier(value) -> str:
    if isinstance(value, dict):
        system, val = value.get("system"), value.get("value")
    elif isinstance(value, str) and value.count("|") == 1:
        system, val = value.split("|")
    else:
        return ""
    if not (isinstance(system, str) and isinstance(val, str) and system.strip() and val.strip()):
        return ""
    token = f"{system.strip()}|{val.strip()}"
    return token if len(token) <= MAX_IDENTIFIER and '"' not in token and ";" not in token else ""
