"""Edits over a case's lines after the rules (mappings/<year>/edits.yaml): merge, exclusive pairs,
Medically Unlikely Edits, co-billing notices (imaging overlap) and by-report notices."""
from __future__ import annotations

from dataclasses import replace

from plugin.engine.rules import notice
from plugin.mappings import Mappings
from plugin.suggestion import Line, Notice


def merge(lines: list[Line]) -> list[Line]:
    """One line per code + modifiers: quantities add up, evidence and alternatives are joined."""
    merged: dict[str, Line] = {}
    for line in lines:
        if line.key not in merged:
            merged[line.key] = line
            continue
        first = merged[line.key]
        merged[line.key] = replace(
            first,
            quantity=first.quantity + line.quantity,
            evidence=first.evidence + tuple(e for e in line.evidence if e not in first.evidence),
            alternatives=first.alternatives + tuple(a for a in line.alternatives if a not in first.alternatives),
        )
    return sorted(merged.values(), key=lambda l: (l.code, l.modifiers))


def apply(lines: list[Line], maps: Mappings) -> tuple[list[Line], list[Notice]]:
    notices: list[Notice] = []
    lines = _exclusive(lines, maps, notices)
    lines = _mue(lines, maps, notices)
    notices += _overlaps(lines, maps) + _by_report(lines, maps)
    return lines, notices


def _exclusive(lines: list[Line], maps: Mappings, notices: list[Notice]) -> list[Line]:
    codes = {l.code for l in lines}
    for pair in maps.edits.get("exclusive", {}).get("pairs", []):
        if pair["keep"] in codes and pair["drop"] in codes:
            lines = [l for l in lines if l.code != pair["drop"]]
            notices.append(notice({"kind": "bundled", "detail": pair["why"]}, None, {}, maps, [pair["keep"], pair["drop"]]))
    return lines


def _mue(lines: list[Line], maps: Mappings, notices: list[Notice]) -> list[Line]:
    limits = maps.edits.get("mue", {}).get("limits", {})
    out = []
    for line in lines:
        limit = limits.get(line.code)
        if limit and line.quantity > limit:
            notices.append(notice({"kind": "mue-exceeded", "detail": str(limit)}, None, {}, maps, [line.code]))
            line = replace(line, quantity=limit)
        out.append(line)
    return out


def _overlaps(lines: list[Line], maps: Mappings) -> list[Notice]:
    out = []
    for edit in maps.edits.get("overlap", []):
        a = [l.code for l in lines if l.step in edit["steps_a"]]
        b = [l.code for l in lines if l.step in edit["steps_b"]]
        if a and b:
            out.append(notice({"kind": edit["kind"], "rule": edit["id"]}, None, {}, maps, a + b))
    return out


def _by_report(lines: list[Line], maps: Mappings) -> list[Notice]:
    kind = maps.edits.get("by_report", {}).get("kind")
    return [notice({"kind": kind}, None, {}, maps, [l.code]) for l in lines if kind and maps.codes[l.code].get("by_report")]
