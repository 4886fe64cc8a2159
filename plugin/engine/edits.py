"""Edits over a case's lines after the rules (mappings/<year>/edits.yaml): merge, exclusive pairs,
Medically Unlikely Edits, co-billing notices (imaging overlap) and by-report notices."""
from __future__ import annotations

from dataclasses import replace

from plugin.engine.rules import notice
from plugin.mappings import Mappings
from plugin.suggestion import Alternative, DocCheck, Line, Notice


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
            documentation_check=_joined_checks(first.documentation_check, line.documentation_check),
        )
    return sorted(merged.values(), key=lambda l: (l.code, l.modifiers))


def _joined_checks(a: tuple[DocCheck, ...], b: tuple[DocCheck, ...]) -> tuple[DocCheck, ...]:
    """Merged lines: an item is present when either line's record shows it."""
    other = {c.item: c for c in b}
    joined = [DocCheck(c.item, c.present or other[c.item].present, tuple(dict.fromkeys(c.evidence + other[c.item].evidence)))
              if c.item in other else c for c in a]
    return tuple(joined) + tuple(c for c in b if c.item not in {x.item for x in a})


def apply(lines: list[Line], maps: Mappings) -> tuple[list[Line], list[Notice]]:
    notices: list[Notice] = []
    lines = _exclusive(lines, maps, notices)
    lines = _mue(lines, maps, notices)
    lines = _same_day(lines, maps, notices)
    notices += _overlaps(lines, maps) + _by_report(lines, maps)
    return lines, notices


def _same_day(lines: list[Line], maps: Mappings, notices: list[Notice]) -> list[Line]:
    """Codes billed beside a code with a global period (edits.yaml same_day): the modifier as the alternative."""
    for edit in maps.edits.get("same_day", []):
        if not {l.code for l in lines} & set(edit["with"]):
            continue
        out = []
        for line in lines:
            if line.code in edit["codes"] and edit["modifier"] not in line.modifiers:
                alt = Alternative(line.code, edit["why"], line.system, (*line.modifiers, edit["modifier"]))
                line = replace(line, alternatives=line.alternatives + (alt,))
                notices.append(notice({"kind": edit["kind"], "rule": edit["id"]}, None, {}, maps, [line.code]))
            out.append(line)
        lines = out
    return lines


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
