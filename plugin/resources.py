"""Reading FHIR resources the same way whatever their version (R4/R4B vs R5 element names).

| meaning               | R4 / R4B                                   | R5                                    |
| --------------------- | ------------------------------------------ | ------------------------------------- |
| encounter of a record | encounter, context (DocumentReference.context.encounter) | encounter, context (Reference list) |
| when it was done      | performed[x]                               | occurrence[x]                         |
| devices used          | usedReference, focalDevice.manipulated     | used (CodeableReference), focalDevice |
| encounter class       | class (Coding)                             | class (list of CodeableConcept)       |
| encounter time        | period, length                             | actualPeriod, length                  |
| series modality       | modality (Coding)                          | modality (CodeableConcept)            |
| series performer      | performer.actor                            | performer.actor                       |

References are read in whatever form the sender wrote them ("Type/id", "Type/id/_history/v", an absolute
URL, a Bundle-local `urn:uuid:`, a conditional "Type?identifier=system|value"); `Resolver` rewrites them,
once, to the "Type/id" of the resource they point at wherever that resource is in the input, so every
reader after case assembly compares plain "Type/id" strings.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable

Json = dict[str, Any]

_HISTORY = re.compile(r"/_history/[^/]*$")
_TYPED = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")


def ref_type(ref: str) -> str:
    """The resource type a reference names ("Encounter" for "Encounter/1" or ".../Encounter/1"); "" if none."""
    found = _TYPED.search(_HISTORY.sub("", ref))
    return found.group(1) if found else ""


class Resolver:
    """Rewrites references to the "Type/id" of a resource in the input; leaves the others as they were.

    `items` are (reference "Type/id", Bundle fullUrl or "", resource JSON) of every resource read.
    """

    def __init__(self, items: Iterable[tuple[str, str, Json]]) -> None:
        self.alias: dict[str, str] = {}
        self.known: set[str] = set()
        self.by_identifier: dict[tuple[str, str, str], set[str]] = {}
        for ref, full_url, res in items:
            self.known.add(ref)
            if full_url:
                self.alias[full_url] = ref
            for system, value in identifiers(res):
                rtype = ref.split("/", 1)[0]
                self.by_identifier.setdefault((rtype, system, value), set()).add(ref)
                self.by_identifier.setdefault((rtype, "", value), set()).add(ref)

    def resolve(self, ref: str) -> str:
        if not ref or ref in self.known or ref.startswith("#"):
            return ref
        if ref in self.alias:
            return self.alias[ref]
        if "?" in ref:
            return self._conditional(ref)
        plain = _HISTORY.sub("", ref)
        found = _TYPED.search(plain)
        if found:
            short = f"{found.group(1)}/{found.group(2)}"
            if short in self.known or plain == short or plain in self.alias:
                return self.alias.get(plain, short)
        return ref

    def _conditional(self, ref: str) -> str:
        """"Patient?identifier=system|value" -> the one resource of that type with that identifier."""
        rtype, _, query = ref.partition("?")
        params = dict(p.partition("=")[::2] for p in query.split("&"))
        token = params.get("identifier", "")
        if set(params) != {"identifier"} or not token:
            return ref
        system, _, value = token.rpartition("|")
        found = self.by_identifier.get((rtype.rsplit("/", 1)[-1], system, value), set())
        return next(iter(found)) if len(found) == 1 else ref

    def rewrite(self, node: Any) -> Any:
        """A copy of a resource (or any JSON) with every Reference.reference resolved."""
        return _rewrite(node, self.resolve)


def _rewrite(node: Any, resolve: Callable[[str], str]) -> Any:
    """Copy-on-write: the same object where nothing changed (most resources, already "Type/id")."""
    if isinstance(node, dict):
        changed: dict | None = None
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                new = resolve(value)
                if new == value:
                    continue
            elif isinstance(value, (dict, list)):
                new = _rewrite(value, resolve)
                if new is value:
                    continue
            else:
                continue
            changed = changed if changed is not None else dict(node)
            changed[key] = new
        return node if changed is None else changed
    if isinstance(node, list):
        out: list | None = None
        for i, value in enumerate(node):
            if isinstance(value, (dict, list)):
                new = _rewrite(value, resolve)
                if new is not value:
                    out = out if out is not None else list(node)
                    out[i] = new
        return node if out is None else out
    return node


def refs(value: Any) -> list[str]:
    """Every reference string inside a Reference, CodeableReference, or list of either."""
    if isinstance(value, dict):
        inner = value.get("reference")
        if isinstance(inner, str):
            return [inner]
        return refs(inner) if isinstance(inner, dict) else []  # CodeableReference
    if isinstance(value, list):
        return [r for item in value for r in refs(item)]
    return []


def first_ref(value: Any) -> str:
    found = refs(value)
    return found[0] if found else ""


def codings(value: Any) -> list[Json]:
    """Codings of a Coding, a CodeableConcept, or a list of either."""
    if isinstance(value, list):
        return [c for item in value for c in codings(item)]
    if not isinstance(value, dict):
        return []
    if "concept" in value:  # R5 CodeableReference
        return codings(value["concept"])
    if "coding" in value:
        return [c for c in value["coding"] if isinstance(c, dict)]
    return [value] if "code" in value else []


def texts(value: Any) -> list[str]:
    """Human text of a CodeableConcept / Coding / list: text and displays."""
    out = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            item = item.get("concept", item)  # R5 CodeableReference
            out += [item.get("text", "")] + [c.get("display", "") for c in codings(item)]
    return [t for t in out if t]


def encounter_ref(res: Json) -> str:
    """The record's encounter (or episode): a reference to an Encounter/EpisodeOfCare, or an untyped one
    (an unresolved urn:uuid) where the element can only name an encounter."""
    for key in ("encounter", "context"):
        value = res.get(key)
        if isinstance(value, dict) and "encounter" in value:  # R4 DocumentReference.context
            value = value["encounter"]
        for ref in refs(value):
            if ref.startswith(("Encounter/", "urn:")) or ref_type(ref) in ("Encounter", "EpisodeOfCare"):
                return ref
    return ""


def logical_subject(res: Json) -> tuple[str, str]:
    """(system, value) of a subject given only by identifier (a logical reference), else ("", "")."""
    for key in ("subject", "patient", "beneficiary"):
        value = res.get(key)
        ident = value.get("identifier") if isinstance(value, dict) else None
        if isinstance(ident, dict) and isinstance(ident.get("value"), str) and not value.get("reference"):
            return str(ident.get("system", "")), ident["value"]
    return "", ""


def subject_ref(res: Json) -> str:
    for key in ("subject", "patient", "beneficiary"):
        ref = first_ref(res.get(key))
        if ref:
            return ref
    return ""


def when(res: Json) -> str:
    """ISO date-time the record happened: performed/occurrence/started/period/date, else ''."""
    for key in ("performedDateTime", "occurrenceDateTime", "started", "effectiveDateTime", "issued", "date", "createdDateTime"):
        if isinstance(res.get(key), str):
            return res[key]
    for key in ("performedPeriod", "occurrencePeriod", "actualPeriod", "period", "effectivePeriod"):
        if isinstance(res.get(key), dict) and res[key].get("start"):
            return res[key]["start"]
    return ""


def day(res: Json) -> str:
    return when(res)[:10]


def actor_refs(res: Json) -> list[str]:
    """Who performed a Procedure / ImagingStudy series / DiagnosticReport."""
    out: list[str] = []
    for perf in res.get("performer") or []:
        if isinstance(perf, dict):
            out += refs(perf.get("actor") or perf)
            out += refs(perf.get("onBehalfOf"))
    out += refs(res.get("resultsInterpreter"))
    return out


def device_refs(res: Json) -> list[str]:
    out = refs(res.get("usedReference")) + refs(res.get("used"))
    for focal in res.get("focalDevice") or []:
        out += refs(focal.get("manipulated"))
    return [r for r in out if r.startswith(("Device/", "urn:")) or ref_type(r) == "Device"]


def encounter_class(res: Json) -> str:
    value = res.get("class")
    found = codings(value)
    return found[0].get("code", "") if found else ""


def encounter_minutes(res: Json) -> tuple[float | None, str]:
    """(minutes, 'length' | 'period' | 'none')."""
    length = res.get("length")
    if isinstance(length, dict) and isinstance(length.get("value"), (int, float)):
        unit = (length.get("code") or length.get("unit") or "min").lower()
        factor = {"h": 60, "hr": 60, "hour": 60, "hours": 60, "s": 1 / 60, "sec": 1 / 60}.get(unit, 1)
        return float(length["value"]) * factor, "length"
    period = res.get("actualPeriod") or res.get("period") or {}
    start, end = period.get("start"), period.get("end")
    if start and end and len(start) > 10 and len(end) > 10:
        from datetime import datetime

        delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
        return delta.total_seconds() / 60, "period"
    return None, "none"


def series_modality(series: Json) -> str:
    found = codings(series.get("modality"))
    return found[0].get("code", "") if found else ""


def identifiers(res: Json) -> list[tuple[str, str]]:
    found = res.get("identifier") or []
    found = found if isinstance(found, list) else [found]  # a few types have one Identifier, not a list
    return [(str(i.get("system", "")), str(i.get("value", ""))) for i in found if isinstance(i, dict)]


def notes(res: Json) -> list[str]:
    out = [n.get("text", "") for n in res.get("note") or [] if isinstance(n, dict)]
    out += texts(res.get("outcome")) + [res.get("conclusion", "")]
    return [t for t in out if isinstance(t, str) and t.strip()]


def device_words(res: Json) -> str:
    """Names and type text of a Device, for matching against known devices."""
    names = [n.get("name", "") for n in res.get("deviceName") or [] if isinstance(n, dict)]
    names += [res.get("modelNumber", ""), res.get("manufacturer", ""), res.get("displayName", "")]
    names += texts(res.get("type"))
    return " ".join(n for n in names if n)


def attachments(res: Json) -> list[Json]:
    """The Attachments of a DocumentReference (`content[].attachment`) or Media (R4/R4B `content`: one Attachment)."""
    content = res.get("content")
    if isinstance(content, dict):
        return [content]
    return [a for c in content if isinstance(c, dict) and isinstance(a := c.get("attachment"), dict)] if isinstance(content, list) else []
