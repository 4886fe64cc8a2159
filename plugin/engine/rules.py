"""Rules from mappings/<year>/rules.yaml applied to step instances: conditions, codes, reasons, notices."""
from __future__ import annotations

import string
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Any

from plugin.engine import documents
from plugin.engine.facts import Instance
from plugin.mappings import Mappings, Rule, notice_text
from plugin.suggestion import Alternative, Line, Notice

OTHER_CLAIM = {"dental": "medical", "medical": "dental"}


@dataclass
class Outcome:
    lines: list[Line] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


MEMO_LIMIT = 50_000  # outcomes kept per mappings object; cleared when full


def apply(instances: list[Instance], maps: Mappings, day: str, phase: int, billed: list[str]) -> Outcome:
    out = Outcome()
    for inst in instances:
        lines, notices = _outcome(inst, maps, day, phase, tuple(billed))
        if lines:
            evidence, sources = tuple(inst.evidence), inst.sources() if any(l.needs for l in lines) else None
            out.lines += [line.for_case(evidence, documents.check(line.needs, sources, maps)) for line in lines]
        out.notices += notices
    return out


def _outcome(inst: Instance, maps: Mappings, day: str, phase: int, billed: tuple) -> tuple[list[Line], list[Notice]]:
    """What the rules yield for a step instance (lines without evidence). Rules are pure functions of
    the facts they read, so the result is memoized by exactly those facts' values."""
    claim = inst.facts["claim"]
    key = (inst.step, claim, phase, day, billed if phase == 2 else (),
           tuple([_freeze(inst.facts.get(n)) for n in _reads(maps, inst.step, claim, phase)]))
    memo = maps.memo.setdefault("outcomes", {})
    if key not in memo:
        if len(memo) >= MEMO_LIMIT:
            memo.clear()
        facts, out = {**inst.facts, "billed": list(billed)}, Outcome()
        for rule in maps.rules_for(inst.step, claim, phase):
            if rule.valid_on(day) and rule.test(facts):
                _fire(rule, inst.step, facts, maps, day, out)
        memo[key] = (out.lines, out.notices)
    return memo[key]


def _reads(maps: Mappings, step: str, claim: str, phase: int) -> tuple[str, ...]:
    """Every fact the rules of this step read (both claim forms: alternatives read the other one)."""
    cache = maps.memo.setdefault("reads", {})
    if (step, claim, phase) not in cache:
        names: set[str] = set()
        for rule in maps.rules_for(step, claim, phase) + maps.rules_for(step, OTHER_CLAIM[claim], phase):
            names |= set(rule.when) | _template_names(rule) | _table_names(maps, rule)
            names |= {"units"} if rule.quantity == "units" else {"minutes"} if isinstance(rule.quantity, dict) else set()
        cache[(step, claim, phase)] = tuple(sorted(names - {"billed", "claim", "step"}))
    return cache[(step, claim, phase)]


def _template_names(rule: Rule) -> set[str]:
    texts = [rule.rationale] + [n.get("detail", "") for n in (*rule.notices, rule.on_no_code or {})]
    texts += [a["why"] for a in rule.alternatives]
    return {name for text in texts for name in _placeholders(text)} | {n for a in rule.alternatives for n in a.get("when", {})}


def _table_names(maps: Mappings, rule: Rule) -> set[str]:
    specs = [s for s in (rule.code, rule.modifiers) if isinstance(s, dict)]
    return {n for s in specs for n in (lambda by: by if isinstance(by, list) else [by])(maps.tables[s["table"]]["by"])}


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _fire(rule: Rule, step: str, facts: dict, maps: Mappings, day: str, out: Outcome) -> None:
    code = resolve(rule.code, maps, facts)
    if rule.code is not None and not code:
        if rule.on_no_code:
            out.notices.append(notice(rule.on_no_code, rule, facts, maps, []))
        return
    if code and _valid_code(maps, code, day):
        out.lines.append(_line(rule, code, step, facts, maps, day))
    for spec in rule.notices:
        out.notices.append(notice(spec, rule, facts, maps, [code] if code else []))


def resolve(spec: Any, maps: Mappings, facts: dict) -> Any:
    return maps.lookup(spec["table"], facts) if isinstance(spec, dict) else spec


def _valid_code(maps: Mappings, code: str, day: str) -> bool:
    valid = maps.codes[code]["valid"]
    return valid["from"] <= day and (not valid.get("to") or day <= valid["to"])


def _line(rule: Rule, code: str, step: str, facts: dict, maps: Mappings, day: str) -> Line:
    return Line(
        code=code,
        system=maps.system_uri(code),
        label=maps.label(code),
        modifiers=tuple(resolve(rule.modifiers, maps, facts) or ()),
        quantity=quantity(rule.quantity, facts),
        step=step,
        rule=rule.id,
        rationale=render(rule.rationale, facts, maps),
        evidence=(),
        documentation=tuple(maps.settings["documentation"][d]["label"] for d in rule.documentation),
        needs=rule.documentation,
        alternatives=tuple(_alternatives(rule, step, facts, maps, day)),
    )


def quantity(spec: Any, facts: dict) -> int:
    if spec == "units":
        return max(int(facts.get("units") or 1), 1)
    if isinstance(spec, dict):
        return max(int((facts["minutes"] - spec["beyond"]) // spec["per_minutes"]), 1)
    return int(spec)


def _alternatives(rule: Rule, step: str, facts: dict, maps: Mappings, day: str) -> list[Alternative]:
    alts = [Alternative(a["code"], render(a["why"], facts, maps), maps.system_uri(a["code"]), tuple(a.get("modifiers", ())))
            for a in rule.alternatives if a["test"](facts)]
    other = OTHER_CLAIM[facts["claim"]]
    flipped = {**facts, "claim": other}
    for alt_rule in maps.rules_for(step, other, rule.phase):
        code = resolve(alt_rule.code, maps, flipped) if alt_rule.valid_on(day) and alt_rule.test(flipped) else None
        if code and code != resolve(rule.code, maps, facts) and all(a.code != code for a in alts):
            mods = tuple(resolve(alt_rule.modifiers, maps, flipped) or ())
            alts.append(Alternative(code, f"on a {other} claim ({alt_rule.id})", maps.system_uri(code), mods))
    return alts


def notice(spec: dict, rule: Rule | None, facts: dict, maps: Mappings, codes: list[str]) -> Notice:
    codes = list(spec.get("codes") or codes)
    detail = render(spec.get("detail", ""), facts, maps)
    message = notice_text(maps.notices[spec["kind"]], codes).format(codes=", ".join(codes), detail=detail)
    return Notice(spec["kind"], tuple(codes), message, rule.id if rule else spec.get("rule", ""))


def render(template: str, facts: dict, maps: Mappings) -> str:
    """A message with facts filled in; enum values read through facts.yaml `words` where given."""
    names = _placeholders(template)
    if not names:
        return template
    words = {k: maps.facts.get(k, {}).get("words", {}) for k in names}
    return template.format_map({k: words[k].get(str(facts.get(k)), _word(facts.get(k))) for k in names})


@lru_cache(maxsize=1024)
def _placeholders(template: str) -> tuple[str, ...]:
    return tuple(sorted({name for _, name, _, _ in string.Formatter().parse(template) if name}))


def _word(value: Any) -> str:
    if value is None or value == "":
        return "unknown"
    if isinstance(value, float):
        return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
    return str(value)
