"""Cross-checks of loaded mappings: every name a rule, table, code or edit uses must exist.

Each failure is a MappingError naming the file, the rule id (or key) and the nearest known name.
"""
from __future__ import annotations

from typing import Any

from plugin.errors import MappingError

# The loader (plugin/mappings.py) calls these checks on what it loaded: they take its Mappings and Rule objects
# without importing them (imports point down: mappings.py -> mapping_checks.py, never back).
Mappings = Any
Rule = Any


def check(m: "Mappings") -> None:
    _check_codes(m)
    _check_tables(m)
    seen: dict[str, str] = {}
    for rule in m.rules:
        if rule.id in seen and seen[rule.id] == rule.origin:
            raise MappingError(f"{rule.origin}: rule {rule.id}: id used twice (ids are immutable and unique)")
        seen[rule.id] = rule.origin
        _check_rule(m, rule)
    _check_edits(m)
    _check_notice_templates(m)


def check_terminology(m: "Mappings", raw: dict) -> dict[tuple[str, str], dict]:
    """terminology.yaml, checked (known system alias, step and facts; each concept once) and keyed by
    (system URI, code)."""
    out: dict[tuple[str, str], dict] = {}
    for entry in raw["concepts"]:
        where = f"terminology.yaml: concept {entry['system']}|{entry['code']}"
        if entry["system"] not in raw["systems"]:
            _fail(where, "system", entry["system"], raw["systems"])
        if entry["step"] not in _steps(m):
            _fail(where, "step", entry["step"], _steps(m))
        for fact, value in entry.get("facts", {}).items():
            _check_fact_value(m, where, fact, value)
        key = (raw["systems"][entry["system"]], entry["code"])
        if key in out:
            raise MappingError(f"{where}: listed twice")
        out[key] = entry
    return out


def _fail(where: str, what: str, name: Any, known: Any) -> None:
    from plugin.mapping_text import did_you_mean

    raise MappingError(f"{where}: unknown {what} '{name}'{did_you_mean(name, known)}")


def _steps(m: "Mappings") -> list[str]:
    return m.facts["step"]["values"]


def _check_fact_value(m: "Mappings", where: str, fact: str, value: Any) -> None:
    if fact not in m.facts:
        _fail(where, "fact", fact, m.facts)
    spec = m.facts[fact]
    values = value if isinstance(value, list) else [value]
    if isinstance(value, dict):
        values = [v for k, v in value.items() if k == "not"]
        if spec["type"] == "codes":
            for code in value.get("any", []) + value.get("none", []):
                _check_code(m, where, code)
    if spec["type"] == "enum":
        for v in values:
            if str(v) not in spec["values"]:
                _fail(f"{where}: fact {fact}", "value", v, spec["values"])


def _check_code(m: "Mappings", where: str, code: Any) -> None:
    if code not in m.codes:
        _fail(where, "code", code, m.codes)


def _check_codes(m: "Mappings") -> None:
    for code, entry in m.codes.items():
        where = f"codes.yaml: code {code}"
        if entry["system"] not in m.systems:
            _fail(where, "system", entry["system"], m.systems)
        recorded = entry.get("recorded")
        if recorded:
            if recorded["step"] not in _steps(m):
                _fail(where, "step", recorded["step"], _steps(m))
            for fact, value in recorded.get("facts", {}).items():
                _check_fact_value(m, where, fact, value)


def _check_tables(m: "Mappings") -> None:
    for name, spec in m.tables.items():
        where = f"tables.yaml: table {name}"
        keys = spec["by"] if isinstance(spec["by"], list) else [spec["by"]]
        for key in keys:
            if key not in m.facts:
                _fail(where, "fact", key, m.facts)
        for code in _table_codes(spec):
            _check_code(m, where, code)


def _table_codes(spec: dict) -> list[str]:
    if "bands" in spec:
        return [b["code"] for b in spec["bands"]]
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, str):
            out.append(node)

    walk(spec["map"])
    return out


def _check_rule(m: "Mappings", rule: "Rule") -> None:
    where = f"{rule.origin}: rule {rule.id}"
    for step in rule.steps:
        if step not in _steps(m):
            _fail(where, "step", step, _steps(m))
    for fact, cond in rule.when.items():
        _check_fact_value(m, where, fact, cond)
        if fact == "billed" and rule.phase == 1:
            raise MappingError(f"{where}: 'billed' needs phase: 2 (phase 1 rules run before any code exists)")
    for part in ("code", "modifiers"):
        value = getattr(rule, part)
        if isinstance(value, dict) and value["table"] not in m.tables:
            _fail(where, "table", value["table"], m.tables)
    if isinstance(rule.code, str):
        _check_code(m, where, rule.code)
    for alt in rule.alternatives:
        _check_code(m, where, alt["code"])
        for fact, cond in alt.get("when", {}).items():
            _check_fact_value(m, f"{where}: alternative {alt['code']}", fact, cond)
    catalogue = m.settings.get("documentation", {})
    for item in rule.documentation:
        if item not in catalogue:
            _fail(f"{where}: documentation", "item (settings.yaml documentation)", item, catalogue)
    for notice in (*rule.notices, *([rule.on_no_code] if rule.on_no_code else [])):
        if notice["kind"] not in m.notices:
            _fail(where, "notice kind", notice["kind"], m.notices)
        _check_placeholders(m, where, notice.get("detail", ""))
        no_code = rule.code is None or notice is rule.on_no_code
        codes = notice.get("codes") or ([] if no_code else [rule.code if isinstance(rule.code, str) else "(its code)"])
        _check_notice_fills(m, where, notice, codes)
    _check_placeholders(m, where, rule.rationale)
    for alt in rule.alternatives:
        _check_placeholders(m, where, alt["why"])


def _check_notice_fills(m: "Mappings", where: str, notice: dict, codes: list[str]) -> None:
    """A notice's text must not show an empty code list or an empty detail: a notice that names no code uses a
    kind's `no_codes` text (or one without {codes}); a text with {detail} needs the rule to give one."""
    from plugin.mapping_text import notice_text

    text = notice_text(m.notices[notice["kind"]], codes)
    if not codes and "{codes}" in text:
        raise MappingError(f"{where}: notice {notice['kind']} names no codes but its text shows {{codes}}: "
                           f"add codes to the notice or a no_codes text to notices.yaml")
    if "{detail}" in text and not notice.get("detail"):
        raise MappingError(f"{where}: notice {notice['kind']} has no detail but its text shows {{detail}}")


def _check_placeholders(m: "Mappings", where: str, template: str) -> None:
    from plugin.mapping_text import PLACEHOLDER

    for name in PLACEHOLDER.findall(template):
        if name not in m.facts:
            _fail(f"{where}: message", "fact", name, m.facts)


def _check_edits(m: "Mappings") -> None:
    for code in m.edits.get("mue", {}).get("limits", {}):
        _check_code(m, "edits.yaml: mue", code)
    for pair in m.edits.get("exclusive", {}).get("pairs", []):
        _check_code(m, "edits.yaml: exclusive", pair["keep"])
        _check_code(m, "edits.yaml: exclusive", pair["drop"])
    for edit in m.edits.get("overlap", []):
        where = f"edits.yaml: {edit['id']}"
        if edit["kind"] not in m.notices:
            _fail(where, "notice kind", edit["kind"], m.notices)
        for step in edit["steps_a"] + edit["steps_b"]:
            if step not in _steps(m):
                _fail(where, "step", step, _steps(m))
    for edit in m.edits.get("same_day", []):
        where = f"edits.yaml: {edit['id']}"
        if edit["kind"] not in m.notices:
            _fail(where, "notice kind", edit["kind"], m.notices)
        for code in edit["with"] + edit["codes"]:
            _check_code(m, where, code)
        if edit["modifier"] not in m.modifiers:
            _fail(where, "modifier", edit["modifier"], m.modifiers)
    kind = m.edits.get("by_report", {}).get("kind")
    if kind and kind not in m.notices:
        _fail("edits.yaml: by_report", "notice kind", kind, m.notices)


def _check_notice_templates(m: "Mappings") -> None:
    from plugin.mapping_text import MESSAGE_WORDS, PLACEHOLDER

    for kind, entry in m.notices.items():
        texts = [entry] if isinstance(entry, str) else [entry["text"], entry.get("no_codes", ""), *entry.get("by_code", {}).values()]
        for message in texts:
            for name in PLACEHOLDER.findall(message):
                if name not in MESSAGE_WORDS:
                    _fail(f"notices.yaml: {kind}", "placeholder", name, MESSAGE_WORDS)
        if not isinstance(entry, str):
            for code in entry.get("by_code", {}):
                _check_code(m, f"notices.yaml: {kind}: by_code", code)
