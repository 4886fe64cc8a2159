"""What the case page shows of the evidence a line rests on, and the engine's explanation on request.

    describe(store, group_key) -> {ref: {"kind", "title", "facts": [(label, value)], "notes": [text]}}
    explanation(ctx, group_key, coded_case) -> the `--explain` steps of that case (engine/explain.py)

Both read the group's evidence back exactly as the recomputation did (plugin.store.evidence.read_group).
"""
from __future__ import annotations

from typing import Any

from plugin.evidence.model import DicomSeries, FhirResource, SurfaceMesh
from plugin.store import evidence as ev_store


def describe(store, group_key: str) -> dict[str, dict[str, Any]]:
    with store.sessions() as s:
        read = ev_store.read_group(s, group_key)
    out: dict[str, dict[str, Any]] = {}
    names = _names(read.evidence)
    for item in read.evidence:
        if isinstance(item, FhirResource):
            out[item.ref] = _fhir(item.resource, names)
        elif isinstance(item, DicomSeries):
            out[item.ref] = _series(item)
        elif isinstance(item, SurfaceMesh):
            out[item.ref] = _mesh(item)
    return out


def explanation(ctx, group_key: str, coded_case: str) -> list[dict[str, Any]]:
    from plugin.coding import code_evidence

    with ctx.store.sessions() as s:
        read = ev_store.read_group(s, group_key)
    cfg = ctx.settings
    for sug in code_evidence(read, cfg.practice, cfg.claim, cfg.mappings, explain=True) if read.evidence else []:
        if sug.case == coded_case:
            return sug.explanation
    return []


# ------------------------------------------------------------------------------------------ FHIR
def _names(evidence) -> dict[str, str]:
    """"Practitioner/x" / "Device/y" / "Organization/z" -> a name to show instead of the reference."""
    out = {}
    for item in evidence:
        if isinstance(item, FhirResource) and item.type in ("Practitioner", "Device", "Organization", "PractitionerRole"):
            r = item.resource
            name = r.get("name")
            if isinstance(name, list) and name and isinstance(name[0], dict):
                n = name[0]
                name = n.get("text") or " ".join([*n.get("prefix", []), *n.get("given", []), n.get("family", "")]).strip()
            if item.type == "Device":
                name = ((r.get("deviceName") or [{}])[0].get("name") or (r.get("type") or {}).get("text") or "")
            if name:
                out[item.ref] = str(name)
    return out


def _fhir(r: dict, names: dict[str, str]) -> dict[str, Any]:
    kind = r.get("resourceType", "")
    facts: list[tuple[str, str]] = []
    title = _concept(r.get("code")) or _concept(r.get("type")) or r.get("description", "")
    if kind == "Procedure":
        facts += [("status", r.get("status", "")), ("performed", _when(r, "performed")),
                  ("performed by", _people(names, (p.get("actor") for p in r.get("performer") or []))),
                  ("body site", ", ".join(_concept(b) for b in r.get("bodySite") or [])),
                  ("used", _people(names, r.get("usedReference") or []))]
    elif kind == "ImagingStudy":
        facts += [("started", r.get("started", "")), ("modality", _codes(r.get("modality") or [])),
                  ("series", str(r.get("numberOfSeries", len(r.get("series") or [])))),
                  ("read by", _people(names, r.get("interpreter") or []))]
        for series in r.get("series") or []:
            who = _people(names, (p.get("actor") for p in series.get("performer") or []))
            facts.append((f"series {series.get('number', '')}".strip(),
                          "; ".join(x for x in (series.get("description", ""), _concept(series.get("bodySite")),
                                                _codes([series.get("modality")] if series.get("modality") else []),
                                                f"captured by {who}" if who else "") if x)))
    elif kind == "DocumentReference":
        facts += [("status", r.get("status", "")), ("date", r.get("date", "")),
                  ("author", _people(names, r.get("author") or []))]
    elif kind == "DiagnosticReport":
        facts += [("status", r.get("status", "")), ("issued", r.get("issued", "")),
                  ("read by", _people(names, r.get("resultsInterpreter") or r.get("performer") or [])),
                  ("conclusion", r.get("conclusion", ""))]
    elif kind == "Encounter":
        facts += [("status", r.get("status", "")), ("period", _period(r.get("period") or {})),
                  ("class", (r.get("class") or {}).get("code", "") if isinstance(r.get("class"), dict) else "")]
    notes = [str(n.get("text", "")) for n in r.get("note") or [] if isinstance(n, dict) and n.get("text")]
    if isinstance((r.get("text") or {}).get("div"), str) and not notes and kind in ("DocumentReference",):
        notes.append("(narrative present)")
    return {"kind": kind, "title": title, "facts": [(k, v) for k, v in facts if v], "notes": notes}


def _concept(c: Any) -> str:
    if not isinstance(c, dict):
        return ""
    if isinstance(c.get("concept"), dict):  # R5 CodeableReference
        c = c["concept"]
    coding = next((x for x in c.get("coding") or [] if isinstance(x, dict)), {})
    text = c.get("text") or coding.get("display") or ""
    code = coding.get("code", "")
    return f"{text} ({code})" if text and code else text or code


def _codes(codings: list) -> str:
    return ", ".join(str(c.get("code", "")) for c in codings if isinstance(c, dict))


def _people(names: dict[str, str], refs) -> str:
    """Display names of references (a Practitioner's or Device's name from the evidence, else the reference)."""
    found = [str(ref.get("display") or names.get(ref.get("reference", "")) or ref.get("reference") or "")
             for ref in refs if isinstance(ref, dict)]
    return ", ".join(n for n in found if n)


def _when(r: dict, prefix: str) -> str:
    if r.get(f"{prefix}DateTime"):
        return str(r[f"{prefix}DateTime"])
    return _period(r.get(f"{prefix}Period") or {})


def _period(p: dict) -> str:
    return " to ".join(x for x in (p.get("start", ""), p.get("end", "")) if x)


# ------------------------------------------------------------------------------------------ files
def _series(d: DicomSeries) -> dict[str, Any]:
    fov = " x ".join(f"{v:.0f} mm" for v in (d.diameter_mm, d.height_mm) if v)
    facts = [("modality", d.modality), ("study date", d.study_date), ("description", d.series_description or d.protocol_name),
             ("field of view", f"{fov} (diameter x height)" if d.diameter_mm and d.height_mm else fov),
             ("body part", d.body_part), ("station", d.station_name), ("device", " ".join(x for x in (d.manufacturer, d.model_name) if x)),
             ("device serial", d.device_serial), ("institution", d.institution),
             ("instances", str(d.instances)), ("image type", "\\".join(d.image_type))]
    return {"kind": "DICOM series", "title": d.series_description or d.modality or "series",
            "facts": [(k, v) for k, v in facts if v], "notes": []}


def _mesh(m: SurfaceMesh) -> dict[str, Any]:
    x, y, z = m.extent_mm
    facts = [("format", m.format), ("size", f"{x:.1f} x {y:.1f} x {z:.1f} mm"), ("triangles", f"{m.triangles:,}"),
             ("device / header", m.header), ("units", m.units_note)]
    return {"kind": "surface scan", "title": m.source, "facts": [(k, v) for k, v in facts if v], "notes": []}
