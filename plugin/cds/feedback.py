"""POST /cds-services/{id}/feedback (CDS Hooks 2.0 "Feedback"): what the clinician did with a card becomes
the reviewer queue's decision, made by the queue's own `decide` (plugin.review), so the queue, the EHR's
ChargeItem and the audit log change exactly as they do for a reviewer (`via="cds"`).

    accepted + acceptedSuggestions     each suggestion's lines are approved (the "all" suggestion: every line)
    overridden with overrideReason     every line of the card is rejected with that reason (+ userComment)
    overridden without a reason        nothing is decided: the lines stay in the queue for the coder
                                       (a dismissed card is no reason to drop a charge)
Each decision uses the queue version of the line as it was when the card was made, so a line a reviewer
decided meanwhile is not overwritten (Conflict: reported, not applied). Feedback sent twice is harmless: the
second finds the line already decided the same way.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from plugin.cds.hook import queue_versions
from plugin.errors import Conflict, DecisionRefused, SourceRefused
from plugin.store.cds import find_card

OUTCOMES = ("accepted", "overridden")
DONE_STATE = {"approve": "approved", "reject": "rejected"}


@dataclass(frozen=True)
class Item:
    card: str
    outcome: str
    accepted: tuple[str, ...]
    reason_code: str
    comment: str


def parse(body) -> list[Item]:
    if not isinstance(body, dict) or not isinstance(body.get("feedback"), list) or not body["feedback"]:
        raise SourceRefused(400, "structure", 'feedback is {"feedback": [...]} with at least one item', expression="feedback")
    return [_item(n, raw) for n, raw in enumerate(body["feedback"])]


def _item(n: int, raw) -> Item:
    where = f"feedback[{n}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("card"), str) or not raw["card"]:
        raise SourceRefused(400, "required", "each feedback names its card (the card's uuid)", expression=f"{where}.card")
    if raw.get("outcome") not in OUTCOMES:
        raise SourceRefused(400, "value", "outcome is accepted or overridden", expression=f"{where}.outcome")
    if not isinstance(raw.get("outcomeTimestamp"), str):
        raise SourceRefused(400, "required", "outcomeTimestamp is required", expression=f"{where}.outcomeTimestamp")
    accepted = raw.get("acceptedSuggestions") or []
    if raw["outcome"] == "accepted" and (not isinstance(accepted, list) or not accepted
                                         or not all(isinstance(a, dict) and isinstance(a.get("id"), str) for a in accepted)):
        raise SourceRefused(400, "required", "an accepted outcome lists acceptedSuggestions [{id}]",
                            expression=f"{where}.acceptedSuggestions")
    override = raw.get("overrideReason") if isinstance(raw.get("overrideReason"), dict) else {}
    reason = override.get("reason") if isinstance(override.get("reason"), dict) else {}
    return Item(raw["card"], raw["outcome"], tuple(a["id"] for a in accepted) if raw["outcome"] == "accepted" else (),
                str(reason.get("code") or ""), str(override.get("userComment") or "")[:2000])


def apply(ctx, service_id: str, items: list[Item], actor: str, decide) -> list[dict]:
    """One result per feedback item: {"card", "outcome", "lines": [{"line", "result"}]}. `ctx` is the
    pipeline's Context (settings, store, FHIR client), as `decide` takes it."""
    return [_apply_one(ctx, service_id, item, actor, decide) for item in items]


def _apply_one(ctx, service_id: str, item: Item, actor: str, decide) -> dict:
    result = {"card": item.card, "outcome": item.outcome, "lines": []}
    card = find_card(ctx.store, item.card)
    if card is None or card.service != service_id:
        result["result"] = "unknown card"
        return result
    suggestions: dict[str, list[str]] = json.loads(card.suggestions)
    seen_versions: dict[str, int] = json.loads(card.versions)
    if item.outcome == "accepted":
        unknown = [s for s in item.accepted if s not in suggestions]
        lines = sorted({ident for s in item.accepted for ident in suggestions.get(s, [])})
        action = "approve"
        if unknown:
            result["unknownSuggestions"] = unknown
    elif item.reason_code:
        lines = sorted({ident for idents in suggestions.values() for ident in idents})
        action = "reject"
    else:
        result["result"] = "dismissed without a reason: left in the reviewer queue"
        return result
    current = queue_versions(ctx.store, lines)
    for ident in lines:
        result["lines"].append({"line": ident, "result": _decide(
            ctx, decide, ident, action, actor, seen_versions.get(ident, current.get(ident)), item)})
    return result


def _decide(ctx, decide, ident: str, action: str, actor: str, version, item: Item) -> str:
    if version is None:
        return "not in the reviewer queue yet"
    try:
        decide(ctx, line_key=ident, action=action, actor=actor, expected_version=version,
               reason_code=item.reason_code if action == "reject" else "",
               reason_text=item.comment if action == "reject" else "", change=None, via="cds")
    except Conflict as exc:
        if exc.state == DONE_STATE[action]:
            return "already decided the same way"
        return f"conflict: the line changed since the card was made ({exc.state or 'changed'})"
    except DecisionRefused as exc:
        return f"refused: {exc}"
    return DONE_STATE[action]
