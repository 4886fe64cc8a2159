"""Why each line is there, and why others are not: the step instances, their facts, and every rule
that could have applied with its outcome (fired, or the first condition it missed). For reviewers and
for whoever changes a rule."""
from __future__ import annotations

from typing import Any

from plugin.case import Case
from plugin.conditions import first_failure
from plugin.engine import facts, rules
from plugin.mappings import Mappings


def explain(case: Case, maps: Mappings, day: str) -> list[dict[str, Any]]:
    derived = facts.derive(case, maps)
    billed = sorted({line.code for line in rules.apply(derived.instances, maps, day, 1, []).lines})
    return [_step(inst, maps, day, billed) for inst in derived.instances]


def _step(inst: facts.Instance, maps: Mappings, day: str, billed: list[str]) -> dict[str, Any]:
    claim = inst.facts["claim"]
    candidates = [r for phase in (1, 2) for r in maps.rules_for(inst.step, claim, phase)]
    return {
        "step": inst.step,
        "facts": {k: v for k, v in sorted(inst.facts.items())},
        "evidence": list(inst.evidence),
        "rules": [{"id": r.id, "title": r.title, "outcome": _outcome(r, {**inst.facts, "billed": billed}, day)} for r in candidates],
    }


def _outcome(rule, facts_: dict, day: str) -> str:
    if not rule.valid_on(day):
        return f"not in force on {day} (valid {rule.valid_from} to {rule.valid_to or 'open'})"
    missed = first_failure(rule.when, facts_)
    return f"not applied: {missed}" if missed else "applied"
