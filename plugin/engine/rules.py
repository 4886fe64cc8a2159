"""Rules from mappings/<year>/rules.yaml applied to step instances: conditions, codes, reasons, notices."""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

from plugin.engine.facts import Instance
from plugin.mappings import Mappings, Rule
from plugin.suggestion import Alternative, Line, Notice

OTHER_CLAIM = {"dental": "medical", "medical": "dental"}


@dataclass
class Outcome:
    lines: list[Line] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


def apply(instances: list[Instance], maps: Mappings, day: str, phase: int, billed: list[str]) -> Outcome:
    out = Outcome()
    for inst in instances:
        facts = {**inst.facts, "billed": billed}
        for rule in maps.rules_for(inst.step, facts["claim"], phase):
            if rule.valid_on(day) and matches(rule.when, facts):
                _fire(rule, inst, facts, maps, day, out)
    return out


def matches(when: dict[str, Any], facts: dict[str, Any]) -> bool:
    return all(_holds(facts.get(name), cond) for name, cond in when.items())


def _holds(value: Any, cond: Any) -> bool:
    if isinstance(cond, dict):
        return all(_holds_op(value, op, arg) for op, arg in cond.items())
    if isinstance(cond, list):
        return any(_same(value, c) for c in cond)
    return _same(value, cond)


def _holds_op(value: Any, op: str, arg: Any) -> bool:
    if op == "not":
        return not _holds(value, arg)
    if op in ("min", "max"):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and (value >= arg if op == "min" else value <= arg)
    hit = bool(set(value or ()) & set(arg))
    return hit if op == "any" else not hit


def _same(value: Any, cond: Any) -> bool:
    return value == cond if isinstance(cond, bool) or isinstance(value, bool) else str(value) == str(cond)


def _fire(rule: Rule, inst: Instance, facts: dict, maps: Mappings, day: str, out: Outcome) -> None:
    code = resolve(rule.code, maps, facts)
    if rule.code is not None and not code:
        if rule.on_no_code:
            out.notices.append(notice(rule.on_no_code, rule, facts, maps, []))
        return
    if code and _valid_code(maps, code, day):
        out.lines.append(_line(rule, code, inst, facts, maps, day))
    for spec in rule.notices:
        out.notices.append(notice(spec, rule, facts, maps, [code] if code else []))


def resolve(spec: Any, maps: Mappings, facts: dict) -> Any:
    return maps.lookup(spec["table"], facts) if isinstance(spec, dict) else spec


def _valid_code(maps: Mappings, code: str, day: str) -> bool:
    valid = maps.codes[code]["valid"]
    return valid["from"] <= day and (not valid.get("to") or day <= valid["to"])


def _line(rule: Rule, code: str, inst: Instance, facts: dict, maps: Mappings, day: str) -> Line:
    return Line(
        code=code,
        system=maps.system_uri(code),
        label=maps.label(code),
        modifiers=tuple(resolve(rule.modifiers, maps, facts) or ()),
        quantity=quantity(rule.quantity, facts),
        step=inst.step,
        rule=rule.id,
        rationale=render(rule.rationale, facts),
        evidence=tuple(inst.evidence),
        documentation=rule.documentation,
        alternatives=tuple(_alternatives(rule, inst, facts, maps, day)),
    )


def quantity(spec: Any, facts: dict) -> int:
    if spec == "units":
        return max(int(facts.get("units") or 1), 1)
    if isinstance(spec, dict):
        return max(int((facts["minutes"] - spec["beyond"]) // spec["per_minutes"]), 1)
    return int(spec)


def _alternatives(rule: Rule, inst: Instance, facts: dict, maps: Mappings, day: str) -> list[Alternative]:
    alts = [Alternative(a["code"], a["why"], maps.system_uri(a["code"]), tuple(a.get("modifiers", ()))) for a in rule.alternatives]
    other = OTHER_CLAIM[facts["claim"]]
    flipped = {**facts, "claim": other}
    for alt_rule in maps.rules_for(inst.step, other, rule.phase):
        code = resolve(alt_rule.code, maps, flipped) if alt_rule.valid_on(day) and matches(alt_rule.when, flipped) else None
        if code and all(a.code != code for a in alts):
            mods = tuple(resolve(alt_rule.modifiers, maps, flipped) or ())
            alts.append(Alternative(code, f"on a {other} claim ({alt_rule.id})", maps.system_uri(code), mods))
    return alts


def notice(spec: dict, rule: Rule | None, facts: dict, maps: Mappings, codes: list[str]) -> Notice:
    codes = list(spec.get("codes") or codes)
    detail = render(spec.get("detail", ""), facts)
    message = maps.notices[spec["kind"]].format(codes=", ".join(codes) or "-", detail=detail or "-")
    return Notice(spec["kind"], tuple(codes), message, rule.id if rule else spec.get("rule", ""))


class _Facts(dict):
    def __missing__(self, key: str) -> str:
        return "unknown"


def render(template: str, facts: dict) -> str:
    values = _Facts({k: _word(v) for k, v in facts.items()})
    return string.Formatter().vformat(template, (), values)


def _word(value: Any) -> str:
    if value is None or value == "":
        return "unknown"
    if isinstance(value, float):
        return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
    return str(value)
