"""The coding engine: a case in, a Suggestion out.

facts.derive (step instances) -> rules.apply phase 1 -> rules.apply phase 2 (sees phase-1 codes)
-> edits.merge / edits.apply (MUE, exclusive pairs, overlaps, by-report) -> Suggestion.
"""
from __future__ import annotations

from plugin.case import Case
from plugin.engine import edits, facts, rules
from plugin.mappings import Mappings
from plugin.suggestion import Notice, Suggestion


def service_day(case: Case, maps: Mappings) -> str:
    """The date rules and codes must be in force on: the case's date, else the code set's last day."""
    return case.date or maps.manifest["valid"]["to"] or maps.manifest["valid"]["from"]


def suggest(case: Case, maps: Mappings) -> Suggestion:
    derived = facts.derive(case, maps)
    day = service_day(case, maps)
    first = rules.apply(derived.instances, maps, day, phase=1, billed=[])
    second = rules.apply(derived.instances, maps, day, phase=2, billed=sorted({l.code for l in first.lines}))
    lines, edit_notices = edits.apply(edits.merge(first.lines + second.lines), maps)
    evidence_notices = [rules.notice(spec, None, {}, maps, []) for spec in derived.notices]
    notices = first.notices + second.notices + edit_notices + evidence_notices + _unmapped(derived.unmapped, maps)
    notices += _code_set(day, maps) + _practice(case, maps)
    return Suggestion(
        case=case.key,
        claim=case.claim,
        practice=case.practice.identifier,
        patient=case.patient,
        patient_identifier=case.patient_identifier,
        patient_assigner=case.patient_assigner,
        encounter=case.encounter_ref,
        date=case.date,
        mappings_version=maps.version,
        lines=lines,
        notices=_unique(notices),
        skipped=[p.as_dict() for p in (*case.problems, *derived.problems)],
        not_steps=derived.not_steps,
    )


def _unmapped(unmapped: list[tuple[str, str]], maps: Mappings) -> list[Notice]:
    if not unmapped:
        return []
    return [rules.notice({"kind": "unmapped-code"}, None, {}, maps, sorted({code for code, _ in unmapped}))]


def _code_set(day: str, maps: Mappings) -> list[Notice]:
    """A notice when no rule is in force on the date of service (a date before or after every code set)."""
    if any(rule.valid_on(day) for rule in maps.rules):
        return []
    valid = maps.manifest["valid"]
    detail = f"{day}; the mappings {maps.version} cover {valid['from']} to {valid.get('to') or 'now'}"
    return [_plain("no-code-set", detail, maps)]


def _practice(case: Case, maps: Mappings) -> list[Notice]:
    """A notice when the configured practice identifier matches no Organization the evidence names."""
    if not case.practice.unmatched:
        return []
    return [_plain("practice-not-found", case.practice.identifier, maps)]


def _plain(kind: str, detail: str, maps: Mappings) -> Notice:
    """A notice whose detail is data (a date, an identifier), filled in as it is, never read as a template."""
    return Notice(kind, (), maps.notices[kind].format(codes="-", detail=detail or "-"))


def _unique(notices: list[Notice]) -> list[Notice]:
    seen: dict[tuple, Notice] = {}
    for n in notices:
        seen.setdefault((n.kind, n.codes, n.message), n)
    return sorted(seen.values(), key=lambda n: (n.kind, n.codes, n.message))
