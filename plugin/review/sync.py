"""The pipeline's recomputation tells the reviewer queue what it now suggests (called from
plugin.pipeline._recompute_in, inside the recomputation's transaction and under the case group's lock).

    new line                        pending, the case is in the queue
    undecided line that changed     updated in place; its version is bumped (a reviewer who saw the old
                                    one is told, not applied)
    decided line that changed       state "changed" with the difference (before -> after) shown; the case
                                    returns to the queue; the EHR ChargeItem is left as decided (the pipeline
                                    holds it), so an approved line is never silently altered
    line no longer suggested        undecided: withdrawn; decided: "changed" ("no longer supported")
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert, or_, select

from plugin.output.chargeitems import line_identifier
from plugin.store.review import DECIDED, ReviewAudit, ReviewCase, ReviewLine

GONE = "no longer supported by the evidence (the pipeline withdrew it)"


def after_recompute(s, group_key: str, suggestions: list, desired: dict[str, dict], read: Any = None) -> None:
    payer = _payer(read)
    seen: set[str] = set()
    touched: dict[int, ReviewCase] = {}
    cases = {c.coded_case: c for c in s.scalars(select(ReviewCase).where(ReviewCase.group_key == group_key))}
    group_cases = select(ReviewCase.id).where(ReviewCase.group_key == group_key).scalar_subquery()
    lines = {row.identifier: row for row in s.scalars(select(ReviewLine).where(or_(  # this group's lines, and
        ReviewLine.identifier.in_(sorted(desired)),                               # a line moving in from another
        ReviewLine.case_id.in_(group_cases) & (ReviewLine.origin == "engine"))))}
    fresh: dict[int, list[str]] = {}  # review cases this sync created -> their lines' states (all set here)
    new_lines: list[dict] = []  # lines first suggested now: one Core INSERT below
    for sug in suggestions:
        known = sug.case[:300] in cases
        rcase = _case(s, group_key, sug, payer, cases)
        touched[rcase.id] = rcase
        if not known:
            fresh[rcase.id] = []
        for line in sug.lines:
            ident = line_identifier(sug, line)[1]
            if ident in desired:
                seen.add(ident)
                state = _line(s, rcase, ident, desired[ident], line, lines.get(ident), new_lines)
                fresh.get(rcase.id, []).append(state)
    own = {c.id for c in cases.values()}
    for row in lines.values():
        if row.origin == "engine" and row.identifier not in seen and row.case_id in own:
            _gone(s, row)
            touched.setdefault(row.case_id, s.get(ReviewCase, row.case_id))
    if new_lines:
        s.execute(insert(ReviewLine.__table__), new_lines)
    s.flush()
    from plugin.review.decisions import refresh_case

    for rcase in touched.values():
        refresh_case(s, rcase, fresh.get(rcase.id))


def _case(s, group_key: str, sug, payer: str, cases: dict[str, ReviewCase]) -> ReviewCase:
    rcase = cases.get(sug.case[:300])
    if rcase is None:
        rcase = ReviewCase(group_key=group_key, coded_case=sug.case[:300], status="pending", open=True)
        s.add(rcase)
        cases[rcase.coded_case] = rcase
    rcase.practice, rcase.claim, rcase.payer = sug.practice[:300], sug.claim[:16], payer[:200]
    rcase.service_date = (sug.date or "")[:10]
    kinds = sorted({n.kind for n in sug.notices})
    rcase.notice_kinds = (" " + " ".join(kinds) + " ")[:500] if kinds else ""
    rcase.detail = json.dumps({k: v for k, v in sug.as_dict().items() if k != "lines"}, sort_keys=True)
    s.flush()
    return rcase


def _line(s, rcase: ReviewCase, ident: str, resource: dict, line, row: ReviewLine | None, new_lines: list[dict]) -> str:
    """Make (into `new_lines`) or update the review line; returns the state it is left in."""
    text = json.dumps(resource, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    facts = {"code": line.code, "system": line.system, "modifiers": " ".join(line.modifiers),
             "quantity": int(line.quantity), "rule": line.rule[:100]}
    if row is None:
        new_lines.append(dict(identifier=ident, case_id=rcase.id, origin="engine", state="pending", version=1,
                              suggested_code=line.code, resource=text, suggested=text, digest=digest,
                              line=json.dumps(line.as_dict(), sort_keys=True), difference="", reason_code="",
                              reason_text="", decided_by="", decided_at=None, suggested_at=datetime.now(timezone.utc),
                              **facts))
        return "pending"
    row.case_id, row.line = rcase.id, json.dumps(line.as_dict(), sort_keys=True)
    if row.digest == digest and row.state != "withdrawn":
        return row.state
    before = json.loads(row.resource if row.state in DECIDED or row.state == "changed" else row.suggested)
    if row.state in DECIDED or row.state == "changed":
        _returned(s, row, difference(before, resource))
    else:
        row.state, row.resource = "pending", text
        for key, value in facts.items():
            setattr(row, key, value)
    row.suggested, row.digest, row.suggested_code = text, digest, line.code
    row.version += 1
    return row.state


def _gone(s, row: ReviewLine) -> None:
    if row.state == "pending":
        row.state, row.version = "withdrawn", row.version + 1
    elif row.state in DECIDED:
        _returned(s, row, [{"field": "line", "before": f"{row.code} as decided", "after": GONE}])
        row.version += 1


def _returned(s, row: ReviewLine, diff: list[dict]) -> None:
    before = {"state": row.state, "code": row.code, "modifiers": row.modifiers.split(), "quantity": row.quantity,
              "version": row.version}
    row.state, row.difference = "changed", json.dumps(diff)
    s.add(ReviewAudit(actor="pipeline", via="pipeline", action="returned", case_id=row.case_id,
                      identifier=row.identifier, rule=row.rule, before=json.dumps(before, sort_keys=True),
                      after=json.dumps({**before, "state": "changed", "version": row.version + 1,
                                        "difference": diff}, sort_keys=True),
                      reason_code="evidence-changed", reason_text="the evidence changed after the decision"))


def difference(before: dict, after: dict) -> list[dict[str, str]]:
    """What a reviewer needs to see between two ChargeItems of one line: code, modifiers, quantity,
    evidence, notes (rationale, documentation, notices)."""
    out = []
    for name, get in (("code", _code), ("modifiers", _mods), ("quantity", _qty), ("evidence", _evidence),
                      ("date", lambda r: r.get("occurrenceDateTime", ""))):
        b, a = get(before), get(after)
        if b != a:
            out.append({"field": name, "before": b, "after": a})
    b_notes, a_notes = _notes(before), _notes(after)
    for gone in [n for n in b_notes if n not in a_notes]:
        out.append({"field": "note", "before": gone, "after": ""})
    for new in [n for n in a_notes if n not in b_notes]:
        out.append({"field": "note", "before": "", "after": new})
    return out


def _code(r: dict) -> str:
    coding = ((r.get("code") or {}).get("coding") or [{}])[0]
    return str(coding.get("code", ""))


def _mods(r: dict) -> str:
    return " ".join(e["valueCoding"]["code"] for e in r.get("extension") or [] if e.get("url", "").endswith("charge-modifier"))


def _qty(r: dict) -> str:
    return str((r.get("quantity") or {}).get("value", ""))


def _evidence(r: dict) -> str:
    refs = [_ref(i) for i in list(r.get("service") or []) + list(r.get("supportingInformation") or [])]
    return ", ".join(sorted(x for x in refs if x))


def _ref(item: Any) -> str:
    if not isinstance(item, dict):
        return ""
    ref = item.get("reference")
    if isinstance(ref, dict):  # R5 CodeableReference
        return _ref(ref)
    return str(ref or (item.get("identifier") or {}).get("value") or item.get("display") or "")


def _notes(r: dict) -> list[str]:
    return [str(n.get("text", "")) for n in r.get("note") or [] if n.get("text") and not n["text"].startswith(("Edited in", "Added by"))]


def _payer(read: Any) -> str:
    """The payer's name from the group's Coverage (the first active one), for the queue's filter."""
    for item in getattr(read, "evidence", None) or []:
        resource = getattr(item, "resource", None)
        if isinstance(resource, dict) and resource.get("resourceType") == "Coverage":
            for payor in resource.get("payor") or resource.get("insurer") and [resource["insurer"]] or []:
                if isinstance(payor, dict) and (payor.get("display") or payor.get("reference")):
                    return str(payor.get("display") or payor.get("reference"))
            cls = resource.get("type") or {}
            if cls.get("text"):
                return str(cls["text"])
    return ""
