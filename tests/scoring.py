"""The contract's scoring rule (contract README, section 7), written from its text.

An expectation for one claim form has `required` lines (`[code, [modifiers], quantity or null for any]`),
`one_of` groups (exactly one alternative present), `optional` codes (allowed, not needed), `forbidden` codes and
the `notices` kinds that must appear. A case passes when every required line and one alternative of each group
is present, no other line appears beyond `optional`, and every listed notice kind appears.

Modifiers compare as a set (their order on a line does not matter). A line that satisfies a required entry or
a group is not also counted as "extra". A forbidden code is reported as forbidden wherever it appears outside
what the expectation requires (it is never allowed as optional).
"""
from __future__ import annotations

from typing import Any



def _key(line: dict[str, Any]) -> tuple[str, tuple[str, ...], Any]:
    return str(line.get("code", "")), tuple(sorted(line.get("modifiers") or [])), line.get("quantity")


def _matches(line: tuple[str, tuple[str, ...], Any], want: list) -> bool:
    code, mods, qty = want
    return line[0] == code and line[1] == tuple(sorted(mods)) and (qty is None or line[2] == qty)


def _show(code: str, mods: Any, qty: Any) -> str:
    return code + "".join(f"-{m}" for m in mods) + ("" if qty is None else f" x{qty}")


def score(out: dict[str, Any], exp: dict[str, Any]) -> list[str]:
    """Problems of one suggestion (`Suggestion.as_dict()` / one CLI JSON object) against one claim form's
    expectation; an empty list means the case passes."""
    lines = [_key(line) for line in out.get("lines", [])]
    used: set[int] = set()
    problems: list[str] = []

    # Required lines: exact quantities first, so a "null" (any quantity) entry cannot take a line another needs.
    for want in sorted(exp.get("required", []), key=lambda w: w[2] is None):
        hit = next((i for i, line in enumerate(lines) if i not in used and _matches(line, want)), None)
        if hit is None:
            problems.append(f"missing {_show(*want)}")
        else:
            used.add(hit)

    for group in exp.get("one_of", []):
        hits = sorted({i for i, line in enumerate(lines) if i not in used for want in group if _matches(line, want)})
        if len(hits) == 1:
            used.add(hits[0])
        else:
            options = " | ".join(_show(*want) for want in group)
            problems.append(f"one_of [{options}]: {len(hits)} present" + (
                f" ({', '.join(_show(*lines[i]) for i in hits)})" if hits else ""))

    forbidden, optional = set(exp.get("forbidden", [])), set(exp.get("optional", []))
    for i, (code, mods, qty) in enumerate(lines):
        if i in used:
            continue
        if code in forbidden:
            problems.append(f"forbidden {_show(code, mods, qty)}")
        elif code not in optional:
            problems.append(f"extra {_show(code, mods, qty)}")

    kinds = {notice.get("kind") for notice in out.get("notices", [])}
    problems += [f"notice {kind} missing" for kind in exp.get("notices", []) if kind not in kinds]
    return problems
