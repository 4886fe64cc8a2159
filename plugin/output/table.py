"""Suggestions as plain text for people (`--format table`).

Per case: a heading (case, claim, date), the charge lines in aligned columns (code, modifiers,
qty, step, label, rule), under each line its rationale (wrapped), the documentation it needs and its
alternatives, then the notices ("! kind: message"), the coded records that are not workflow steps
(one line), then the inputs that were skipped.
Plain ASCII layout, no colours, no trailing spaces, deterministic: the same suggestions give the
same text.
"""
from __future__ import annotations

import textwrap

from plugin.suggestion import DocCheck, Line, Suggestion

WIDTH = 100
COLUMNS = ("code", "modifiers", "qty", "step", "label", "rule")
_GAP = "  "
_INDENT = "  "  # table rows
_DETAIL = "      "  # text under a row


def render_table(suggestions: list[Suggestion]) -> str:
    """The suggestions as a plain-text report, cases separated by a blank line; ends with a newline."""
    if not suggestions:
        return "(no cases)\n"
    return "\n".join(_case(s) for s in suggestions)


def _case(s: Suggestion) -> str:
    heading = f"Case {s.case}  claim: {s.claim or '-'}  date: {s.date or 'unknown'}"
    out = [heading, "=" * len(heading)]
    if s.lines:
        out.extend(_lines(s.lines))
    else:
        out.append(f"{_INDENT}(no charge lines)")
    if s.notices:
        out.append("")
        out.append("Notices:")
        for n in s.notices:
            text = f"! {n.kind}: {n.message}"
            if n.codes:
                text += f" (codes: {', '.join(n.codes)})"
            out.extend(_wrap(text, _INDENT, _INDENT + "  "))
    if s.not_steps:
        out.append("")
        out.extend(_wrap("Not a workflow step: " + ", ".join(f"{n['ref']} ({n['code'] or 'no code'})" for n in s.not_steps),
                         "", _INDENT))
    if s.skipped:
        out.append("")
        out.append("Skipped inputs:")
        for p in s.skipped:
            source = p.get("source", "") or "(unknown source)"
            message = p.get("message", "")
            text = f"- {source}: {message}" if message else f"- {source}"
            if p.get("reason"):
                text += f" [{p['reason']}]"
            out.extend(_wrap(text, _INDENT, _INDENT + "  "))
    if s.explanation:
        out += ["", "Why (steps found, their facts, and each rule that could apply):"] + _explanation(s.explanation)
    return "\n".join(line.rstrip() for line in out) + "\n"


def _explanation(steps: list[dict]) -> list[str]:
    out: list[str] = []
    for step in steps:
        facts = ", ".join(f"{k}={v}" for k, v in step["facts"].items() if k not in ("step", "claim"))
        out.extend(_wrap(f"* {step['step']}: {facts}", _INDENT, _INDENT + "    "))
        for rule in step["rules"]:
            out.extend(_wrap(f"- {rule['id']} {rule['title']}: {rule['outcome']}", _INDENT + "  ", _INDENT + "    "))
    return out


def _lines(lines: list[Line]) -> list[str]:
    rows = [COLUMNS] + [
        (
            line.code,
            ",".join(line.modifiers) or "-",
            str(line.quantity),
            line.step or "-",
            line.label or "-",
            line.rule or "-",
        )
        for line in lines
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]

    def fmt(row: tuple[str, ...]) -> str:
        return (_INDENT + _GAP.join(cell.ljust(w) for cell, w in zip(row, widths))).rstrip()

    out = [fmt(rows[0]), fmt(tuple("-" * w for w in widths))]
    for line, row in zip(lines, rows[1:]):
        out.append(fmt(row))
        for para in line.rationale.splitlines():
            out.extend(_wrap(para, _DETAIL, _DETAIL))
        docs = [d for d in line.documentation if d.strip()]
        checked = {c.item: c for c in line.documentation_check}
        if docs:
            out.extend(_wrap("needs: " + "; ".join(_doc(d, checked.get(d)) for d in docs), _DETAIL, _DETAIL + "  "))
        for alt in line.alternatives:
            code = "-".join((alt.code, *alt.modifiers))
            out.extend(_wrap(f"instead: {code}" + (f" ({alt.why})" if alt.why else ""), _DETAIL, _DETAIL + "  "))
    return out


def _doc(item: str, check: DocCheck | None) -> str:
    """A documentation item with what the record shows: [present: where] or [MISSING] (unchecked: as is)."""
    if check is None:
        return item
    return f"{item} [present: {', '.join(check.evidence)}]" if check.present else f"{item} [MISSING]"


def _wrap(text: str, first: str, rest: str) -> list[str]:
    text = text.strip()
    if not text:
        return []
    return textwrap.wrap(
        text, width=WIDTH, initial_indent=first, subsequent_indent=rest,
        break_long_words=False, break_on_hyphens=False,
    ) or [first + text]
