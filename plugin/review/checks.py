"""What a decision must satisfy before anything is written: the reject reasons and the edit checks.

    reject_reasons(settings)                 [(code, display)]: DWCODER_REJECT_REASONS, else review.yaml
    check_line(code, modifiers, quantity, date, extra)   the code's system; DecisionRefused naming the field

The knowledge (reasons, which modifier fits which code) is data: mappings/<year>/review.yaml, codes.yaml.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from plugin import mappings
from plugin.errors import DecisionRefused


@lru_cache(maxsize=8)
def review_table(year: int | None = None) -> dict[str, Any]:
    """mappings/<year>/review.yaml, schema-checked (mappings/schema/review.schema.json)."""
    folder = mappings.year_folder(mappings.BASE_DIR, year)
    if not (folder / "review.yaml").exists():
        folder = mappings.year_folder(mappings.BASE_DIR, None)
    return mappings._read(folder / "review.yaml", "review", required=True)  # the one YAML + schema reader


def reject_reasons(settings: Any = None) -> list[tuple[str, str]]:
    """The reasons a reviewer picks from when rejecting a line: (code, display), in the configured order."""
    configured = tuple(getattr(settings, "reject_reasons", ()) or ())
    if configured:
        return list(configured)
    return [(r["code"], r["display"]) for r in review_table()["reject_reasons"]]


def check_reason(settings: Any, reason_code: str, reason_text: str) -> None:
    known = dict(reject_reasons(settings))
    if reason_code not in known:
        raise DecisionRefused(f"a rejection needs one of the listed reasons ({', '.join(known)}); got {reason_code!r}",
                              "reason_code")
    if reason_code == "other" and not reason_text.strip():
        raise DecisionRefused("reason 'other' needs a few words saying why", "reason_text")


def check_line(code: str, modifiers: list[str], quantity: Any, date: str = "", extra: tuple[str, ...] = ()) -> str:
    """Validate a hand-edited or hand-added line against the code tables; returns the code's system URI."""
    year = int(date[:4]) if date[:4].isdigit() else None
    maps = mappings.load(extra, year)
    table = review_table(year)
    code = code.strip()
    entry = maps.codes.get(code)
    if entry is None:
        hint = mappings.did_you_mean(code, maps.codes)
        raise DecisionRefused(f"code {code!r} is not in the code tables (mappings codes.yaml){hint}", "code")
    _check_valid_on(code, entry, date)
    _check_quantity(quantity, table)
    _check_modifiers(code, entry["system"], modifiers, maps.modifiers, table)
    return maps.system_uri(code)


def _check_valid_on(code: str, entry: dict, date: str) -> None:
    valid = entry.get("valid") or {}
    if date and valid.get("from") and date < valid["from"]:
        raise DecisionRefused(f"code {code} is valid only from {valid['from']} (service date {date})", "code")
    if date and valid.get("to") and date > valid["to"]:
        raise DecisionRefused(f"code {code} was retired on {valid['to']} (service date {date})", "code")


def _check_quantity(quantity: Any, table: dict) -> None:
    top = int(table.get("max_quantity", 99))
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= top:
        raise DecisionRefused(f"quantity must be a whole number from 1 to {top}; got {quantity!r}", "quantity")


def _check_modifiers(code: str, system: str, modifiers: list[str], known: dict, table: dict) -> None:
    if len(modifiers) > int(table.get("max_modifiers", 4)):
        raise DecisionRefused(f"at most {table.get('max_modifiers', 4)} modifiers on a line", "modifiers")
    if len(set(modifiers)) != len(modifiers):
        raise DecisionRefused("a modifier is given twice", "modifiers")
    rules = table.get("modifier_rules") or {}
    for mod in modifiers:
        if mod not in known:
            raise DecisionRefused(f"modifier {mod!r} is not in the code tables (known: {', '.join(known)})", "modifiers")
        rule = rules.get(mod)
        if rule is None:
            continue
        if system not in rule["systems"] or (rule.get("codes") and not re.fullmatch(rule["codes"], code)):
            raise DecisionRefused(f"modifier {mod} cannot go on {code}: {rule['why']}", "modifiers")
    for pair in table.get("exclusive_modifiers") or []:
        if set(pair["modifiers"]) <= set(modifiers):
            raise DecisionRefused(f"modifiers {' and '.join(pair['modifiers'])} together: {pair['why']}", "modifiers")
