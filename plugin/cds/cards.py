"""Cards (CDS Hooks 2.0 "CDS Service Response") from the engine's answer for one case.

One card per coded case:
    summary      under 140 characters: what to add before signing, else how many charges and which codes
    indicator    `warning` when documentation is missing or the case has notices; else `info`
    detail       GitHub-flavoured Markdown: what to add (each missing documentation item, per code), the
                 suggested lines (code, modifiers, quantity, our short label, the reason, the evidence), the
                 notices, what the plugin could not read yet, and whether the case is still being processed
    suggestions  one per charge line (its uuid IS the line's ChargeItem identifier, so it is stable across
                 calls and feedback maps straight back to the line) and one for all lines; each action
                 `create`s the ChargeItem (or `update`s the one already in the EHR, by id)
    selectionBehavior `any`; overrideReasons: the reviewer queue's reject reasons; links: the case in the
                 reviewer queue
The card's own uuid is stable per case (service + practice + case + claim).
"""
from __future__ import annotations

import json
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Iterable

from plugin.suggestion import Line, Suggestion

NAMESPACE = uuidlib.uuid5(uuidlib.NAMESPACE_URL, "https://dwcoder.org/cds-hooks/card")
REASON_SYSTEM = "https://dwcoder.org/fhir/CodeSystem/reject-reason"
TOPIC = {"system": "https://dwcoder.org/fhir/CodeSystem/cds-topic", "code": "charge-capture", "display": "Charge capture"}
SOURCE_LABEL = "digital-workflow-coder"
SUMMARY_MAX = 139


@dataclass
class CardInput:
    """Everything a card needs besides the engine's Suggestion."""
    service_id: str
    items: dict[str, dict]                   # line identifier -> the ChargeItem (to_bundle's resource)
    posted: dict[str, str] = field(default_factory=dict)     # line identifier -> the EHR's ChargeItem id
    reasons: list[tuple[str, str]] = field(default_factory=list)   # reject reasons (code, display)
    review_url: str = ""
    pending: str = ""                        # why the case is not final yet ("" = settled)
    unavailable: list[str] = field(default_factory=list)    # prefetch keys the plugin could not read
    charges: bool = True                     # False: documentation reminder only (appointment-book)


@dataclass(frozen=True)
class Card:
    body: dict
    suggestions: dict[str, list[str]]        # suggestion uuid -> line identifiers


def card_uuid(service_id: str, suggestion: Suggestion) -> str:
    name = json.dumps([service_id, suggestion.practice, suggestion.case, suggestion.claim])
    return str(uuidlib.uuid5(NAMESPACE, name))


def build(suggestion: Suggestion, idents: list[tuple[Line, str]], given: CardInput) -> Card | None:
    """The card for one case (`idents`: each line with its ChargeItem identifier); None when there is nothing
    to say (no lines, no missing documentation, no notices, nothing pending)."""
    missing = [(line, check.item) for line, _ in idents for check in line.documentation_check if not check.present]
    if not given.charges and not missing:
        return None
    if not idents and not suggestion.notices and not given.pending:
        return None
    cid = card_uuid(given.service_id, suggestion)
    card: dict = {"uuid": cid, "summary": _summary(idents, missing, given),
                  "indicator": "warning" if missing or suggestion.notices else "info",
                  "detail": _detail(suggestion, idents, missing, given),
                  "source": {"label": SOURCE_LABEL, "topic": dict(TOPIC)}}
    mapping: dict[str, list[str]] = {}
    if given.charges and idents:
        card["suggestions"], mapping = _suggestions(cid, idents, given)
        card["selectionBehavior"] = "any"
    if given.charges and idents and given.reasons:
        card["overrideReasons"] = [{"system": REASON_SYSTEM, "code": code, "display": display}
                                   for code, display in given.reasons]
    if given.review_url:
        card["links"] = [{"label": "Open the case in the reviewer queue", "url": given.review_url, "type": "absolute"}]
    return Card(card, mapping)


def _summary(idents, missing, given: CardInput) -> str:
    codes = ", ".join(dict.fromkeys(line.code for line, _ in idents))
    if missing:
        text = f"Before signing: add {_count(len(missing), 'documentation item')} for {_count(len(idents), 'charge')}"
        text += f" ({codes})" if codes else ""
    elif idents:
        text = f"{_count(len(idents), 'charge')} to capture: {codes}"
    else:
        text = "Nothing to charge yet for this encounter"
    if given.pending:
        text += " (still processing)"
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip(" ,") + "…"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _detail(suggestion: Suggestion, idents, missing, given: CardInput) -> str:
    parts: list[str] = []
    if given.pending:
        parts.append(f"_Not final: {given.pending} This card shows what is known now._")
    if missing:
        rows = [f"- **{_code(line)}** ({_md(line.label)}): add {_md(item)}" for line, item in missing]
        parts.append("**Before signing, add to the record:**\n" + "\n".join(rows))
    if idents and given.charges:
        head = f"**Suggested charges** ({suggestion.claim} claim{', ' + suggestion.date if suggestion.date else ''})"
        table = ["| Code | Qty | What | Why | Evidence |", "| --- | --- | --- | --- | --- |"]
        table += [f"| {_code(line)} | {line.quantity} | {_md(line.label)} | {_md(line.rationale)} | "
                  f"{_md(', '.join(line.evidence))} |" for line, _ in idents]
        parts.append(head + "\n\n" + "\n".join(table))
    if suggestion.notices:
        parts.append("**Notices:**\n" + "\n".join(f"- {_md(n.message)}" for n in suggestion.notices))
    if given.unavailable:
        parts.append("**Not read from the EHR:** " + _md(", ".join(given.unavailable)))
    if given.review_url:
        parts.append(f"[Open the case in the reviewer queue]({given.review_url})")
    return "\n\n".join(parts)


def _suggestions(cid: str, idents, given: CardInput) -> tuple[list[dict], dict[str, list[str]]]:
    out, mapping = [], {}
    for line, ident in idents:
        out.append({"label": f"Capture {_code(line)} x{line.quantity}: {line.label}"[:120], "uuid": ident,
                    "actions": [_action(line, ident, given)]})
        mapping[ident] = [ident]
    if len(idents) > 1:
        every = [ident for _, ident in idents]
        all_id = str(uuidlib.uuid5(NAMESPACE, json.dumps(["all", cid, sorted(every)])))
        out.append({"label": f"Capture all {len(idents)} charges", "uuid": all_id, "isRecommended": True,
                    "actions": [_action(line, ident, given) for line, ident in idents]})
        mapping[all_id] = every
    return out, mapping


def _action(line: Line, ident: str, given: CardInput) -> dict:
    resource = dict(given.items[ident])
    posted = given.posted.get(ident)
    if posted:
        resource["id"] = posted
        return {"type": "update", "description": f"Capture the charge {_code(line)} (already suggested in the EHR)",
                "resource": resource}
    return {"type": "create", "description": f"Create the charge {_code(line)} x{line.quantity}", "resource": resource}


def _code(line: Line) -> str:
    return "-".join((line.code, *line.modifiers))


def _md(text: str) -> str:
    """Plain text made safe inside Markdown (and its tables): no pipes, no line breaks, no HTML or links."""
    text = " ".join(str(text).split())
    for ch in ("\\", "|", "*", "_", "`", "[", "]", "<", ">"):
        text = text.replace(ch, "\\" + ch)
    return text


def reasons_of(raw: Iterable) -> list[tuple[str, str]]:
    """(code, display) pairs from the reviewer queue's reject-reason list, whatever shape it comes in."""
    if isinstance(raw, dict):
        raw = raw.items()
    out = []
    for item in raw or ():
        if isinstance(item, dict):
            code, display = item.get("code"), item.get("display") or item.get("label")
        elif isinstance(item, (tuple, list)) and len(item) >= 2:
            code, display = item[0], item[1]
        else:
            code, display = getattr(item, "code", None), getattr(item, "display", None) or getattr(item, "label", None)
        if isinstance(code, str) and code and isinstance(display, str) and display:
            out.append((code, display))
    return out
