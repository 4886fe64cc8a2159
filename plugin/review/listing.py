"""What the reviewer pages read: the queue (filters, counts per status, keyset pages), a case with its lines,
the neighbouring cases, and the audit log. Plain functions on a Store; every one takes `practices`: None for
every practice, else the practice identifiers the user may see (plugin.web.auth.can_see decides).

Keyset paging: the queue is ordered oldest first by (first_at, id) and a page starts after the last row of
the one before ("cursor"), on the indexes of plugin/store/review.py, so page 1000 is as fast as page 1.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, tuple_

from plugin.store.review import CASE_STATUSES, ReviewAudit, ReviewCase, ReviewLine

PAGE = 50
FILTERS = ("status", "claim", "payer", "date_from", "date_to", "code", "rule", "notice")


@dataclass(frozen=True)
class Filters:
    status: str = "open"      # open (pending or returned) | pending | returned | done | all
    claim: str = ""
    payer: str = ""           # prefix
    date_from: str = ""       # service date, ISO
    date_to: str = ""
    code: str = ""
    rule: str = ""
    notice: str = ""          # notice kind

    @classmethod
    def of(cls, params: Any) -> "Filters":
        values = {k: str(params.get(k, "") or "").strip()[:100] for k in FILTERS}
        if values["status"] not in ("open", "all") + CASE_STATUSES:
            values["status"] = "open"
        return cls(**values)

    def query(self, **extra: str) -> dict[str, str]:
        out = {k: getattr(self, k) for k in FILTERS if getattr(self, k) and not (k == "status" and getattr(self, k) == "open")}
        out.update({k: v for k, v in extra.items() if v})
        return out


@dataclass
class QueueRow:
    id: int
    coded_case: str
    status: str
    claim: str
    payer: str
    service_date: str
    first_at: datetime
    notices: list[str]
    lines: list[dict] = field(default_factory=list)   # code, state, rule


@dataclass
class Page:
    rows: list[QueueRow]
    next_cursor: str
    counts: dict[str, int]


def queue_page(store, filters: Filters, practices: tuple[str, ...] | None, cursor: str = "", limit: int = PAGE) -> Page:
    with store.sessions() as s:
        q = _filtered(select(ReviewCase), filters, practices, with_status=True)
        after = _cursor(cursor)
        if after is not None:
            q = q.where(tuple_(ReviewCase.first_at, ReviewCase.id) > tuple_(*after))
        cases = list(s.scalars(q.order_by(ReviewCase.first_at, ReviewCase.id).limit(limit + 1)))
        more = len(cases) > limit
        cases = cases[:limit]
        lines = _lines_of(s, [c.id for c in cases])
        rows = [QueueRow(c.id, c.coded_case, c.status, c.claim, c.payer, c.service_date, c.first_at,
                         c.notice_kinds.split(), lines.get(c.id, [])) for c in cases]
        counts = _counts(s, filters, practices)
    last = cases[-1] if cases and more else None
    return Page(rows, f"{last.first_at.isoformat()}~{last.id}" if last else "", counts)


def _filtered(q, f: Filters, practices, with_status: bool):
    if practices is not None:
        q = q.where(ReviewCase.practice.in_(practices))
    if with_status:
        if f.status == "open":
            q = q.where(ReviewCase.open.is_(True))
        elif f.status in CASE_STATUSES:
            q = q.where(ReviewCase.status == f.status)
    if f.claim:
        q = q.where(ReviewCase.claim == f.claim)
    if f.payer:
        q = q.where(ReviewCase.payer.like(_like_prefix(f.payer), escape="\\"))
    if f.date_from:
        q = q.where(ReviewCase.service_date >= f.date_from)
    if f.date_to:
        q = q.where(ReviewCase.service_date <= f.date_to)
    if f.notice:
        q = q.where(ReviewCase.notice_kinds.like(f"% {_escape(f.notice)} %", escape="\\"))
    if f.code:
        q = q.where(exists().where(ReviewLine.case_id == ReviewCase.id, ReviewLine.code == f.code.upper()))
    if f.rule:
        q = q.where(exists().where(ReviewLine.case_id == ReviewCase.id, ReviewLine.rule == f.rule))
    return q


def _counts(s, f: Filters, practices) -> dict[str, int]:
    q = _filtered(select(ReviewCase.status, func.count()), f, practices, with_status=False).group_by(ReviewCase.status)
    counts = {status: 0 for status in CASE_STATUSES}
    counts.update({status: n for status, n in s.execute(q)})
    counts["open"] = counts["pending"] + counts["returned"]
    return counts


def _lines_of(s, case_ids: list[int]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    if not case_ids:
        return out
    q = select(ReviewLine.case_id, ReviewLine.code, ReviewLine.modifiers, ReviewLine.state, ReviewLine.rule) \
        .where(ReviewLine.case_id.in_(case_ids)).order_by(ReviewLine.case_id, ReviewLine.code)
    for case_id, code, mods, state, rule in s.execute(q):
        if state != "withdrawn":
            out.setdefault(case_id, []).append({"code": code, "modifiers": mods, "state": state, "rule": rule})
    return out


def _cursor(cursor: str):
    stamp, _, ident = cursor.partition("~")
    if not stamp or not ident.isdigit():
        return None
    try:
        return datetime.fromisoformat(stamp), int(ident)
    except ValueError:
        return None


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_prefix(text: str) -> str:
    return _escape(text) + "%"


# ------------------------------------------------------------------------------------------ one case
@dataclass
class CaseData:
    case: ReviewCase
    detail: dict
    lines: list[ReviewLine]
    audit: list[ReviewAudit]
    previous_id: int | None
    next_id: int | None


def case_data(store, case_id: int, practices: tuple[str, ...] | None) -> CaseData | None:
    """A case with its lines and audit trail; None when absent or not visible to these practices."""
    with store.sessions() as s:
        rcase = s.get(ReviewCase, case_id)
        if rcase is None or (practices is not None and rcase.practice not in practices):
            return None
        lines = list(s.scalars(select(ReviewLine).where(ReviewLine.case_id == case_id)
                               .order_by(ReviewLine.origin, ReviewLine.suggested_at, ReviewLine.code)))
        audit = list(s.scalars(select(ReviewAudit).where(ReviewAudit.case_id == case_id).order_by(ReviewAudit.id.desc()).limit(200)))
        prev_id, next_id = _neighbours(s, rcase, practices)
    return CaseData(rcase, json.loads(rcase.detail or "{}"), lines, audit, prev_id, next_id)


def _neighbours(s, rcase: ReviewCase, practices) -> tuple[int | None, int | None]:
    base = select(ReviewCase.id).where(ReviewCase.open.is_(True))
    if practices is not None:
        base = base.where(ReviewCase.practice.in_(practices))
    key = tuple_(ReviewCase.first_at, ReviewCase.id)
    here = tuple_(rcase.first_at, rcase.id)
    nxt = s.scalar(base.where(key > here).order_by(ReviewCase.first_at, ReviewCase.id).limit(1))
    prev = s.scalar(base.where(key < here).order_by(ReviewCase.first_at.desc(), ReviewCase.id.desc()).limit(1))
    return prev, nxt


def line_practice(store, identifier: str) -> tuple[int, str] | None:
    """(case id, practice) of a line, for the access check before a decision."""
    with store.sessions() as s:
        row = s.execute(select(ReviewCase.id, ReviewCase.practice).join(ReviewLine, ReviewLine.case_id == ReviewCase.id)
                        .where(ReviewLine.identifier == identifier)).first()
    return (row[0], row[1]) if row else None


def case_practice(store, case_id: int) -> str | None:
    with store.sessions() as s:
        return s.scalar(select(ReviewCase.practice).where(ReviewCase.id == case_id))


def audit_page(store, practices: tuple[str, ...] | None, before_id: int | None = None, limit: int = 100) -> list[dict]:
    """The audit log, newest first (keyset on id), with each row's case."""
    with store.sessions() as s:
        q = select(ReviewAudit, ReviewCase.coded_case).join(ReviewCase, ReviewCase.id == ReviewAudit.case_id)
        if practices is not None:
            q = q.where(ReviewCase.practice.in_(practices))
        if before_id:
            q = q.where(ReviewAudit.id < before_id)
        rows = s.execute(q.order_by(ReviewAudit.id.desc()).limit(limit)).all()
    return [{"id": a.id, "at": a.at, "actor": a.actor, "via": a.via, "action": a.action, "case_id": a.case_id,
             "coded_case": coded, "identifier": a.identifier, "rule": a.rule, "before": json.loads(a.before or "{}"),
             "after": json.loads(a.after or "{}"), "reason_code": a.reason_code, "reason_text": a.reason_text,
             "provenance_id": a.provenance_id} for a, coded in rows]
