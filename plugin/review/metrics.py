"""The numbers that tell a practice which rules to trust: acceptance per rule and per code, what reviewers
edit a rule's code into, time to review, suggestions per day. Plain SQL aggregates over review_lines (engine
lines only; hand-added lines are counted apart), so they stay fast at 100,000 suggestions.

acceptance = approved / decided, where decided = approved + edited + rejected (an edit is a correction, not
an acceptance).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from statistics import median

from sqlalchemy import case, func, select

from plugin.store.review import ReviewCase, ReviewLine

DECIDED = ("approved", "edited", "rejected")


@dataclass(frozen=True)
class Acceptance:
    key: str
    decided: int
    approved: int
    edited: int
    rejected: int
    open: int

    @property
    def rate(self) -> float | None:
        return self.approved / self.decided if self.decided else None


def _scope(q, practices):
    q = q.where(ReviewLine.origin == "engine")
    if practices is not None:
        q = q.join(ReviewCase, ReviewCase.id == ReviewLine.case_id).where(ReviewCase.practice.in_(practices))
    return q


def acceptance(store, by: str, practices=None) -> list[Acceptance]:
    """Per rule (`by`="rule") or per suggested code (`by`="code"), most decided first."""
    col = ReviewLine.rule if by == "rule" else ReviewLine.suggested_code
    counts = [func.sum(case((ReviewLine.state == st, 1), else_=0)) for st in DECIDED]
    open_ = func.sum(case((ReviewLine.state.in_(("pending", "changed")), 1), else_=0))
    q = _scope(select(col, *counts, open_), practices).group_by(col)
    with store.sessions() as s:
        rows = [Acceptance(k or "(none)", int(a or 0) + int(e or 0) + int(r or 0), int(a or 0), int(e or 0), int(r or 0), int(o or 0))
                for k, a, e, r, o in s.execute(q)]
    return sorted(rows, key=lambda x: (-x.decided, x.key))


def edits(store, practices=None) -> list[dict]:
    """What reviewers changed a rule's code into: rule, suggested code, code now, modifiers, how often."""
    q = _scope(select(ReviewLine.rule, ReviewLine.suggested_code, ReviewLine.code, ReviewLine.modifiers, func.count()),
               practices).where(ReviewLine.state == "edited") \
        .group_by(ReviewLine.rule, ReviewLine.suggested_code, ReviewLine.code, ReviewLine.modifiers)
    with store.sessions() as s:
        rows = [{"rule": r or "(none)", "from": f, "to": t, "modifiers": m, "count": int(n)} for r, f, t, m, n in s.execute(q)]
    return sorted(rows, key=lambda x: (-x["count"], x["rule"], x["to"]))


def per_day(store, practices=None, days: int = 60) -> list[tuple[str, int, int]]:
    """(day, suggested, decided) for the last `days` days that have any."""
    day = func.date(ReviewLine.suggested_at)
    decided = func.sum(case((ReviewLine.state.in_(DECIDED), 1), else_=0))
    q = _scope(select(day, func.count(), decided), practices).group_by(day).order_by(day.desc()).limit(days)
    with store.sessions() as s:
        rows = [(str(d), int(n), int(k or 0)) for d, n, k in s.execute(q)]
    return sorted(rows)


def review_times(store, practices=None, limit: int = 20000) -> dict:
    """Hours from suggestion to decision of the latest decided lines: median, 90th percentile, histogram."""
    q = _scope(select(ReviewLine.suggested_at, ReviewLine.decided_at), practices) \
        .where(ReviewLine.state.in_(DECIDED), ReviewLine.decided_at.is_not(None)) \
        .order_by(ReviewLine.decided_at.desc()).limit(limit)
    with store.sessions() as s:
        hours = sorted(max(0.0, (_aware(b) - _aware(a)).total_seconds() / 3600) for a, b in s.execute(q))
    if not hours:
        return {"count": 0, "median_h": None, "p90_h": None, "buckets": []}
    edges = [1, 4, 24, 72, 168]
    labels = ["< 1 h", "1-4 h", "4-24 h", "1-3 days", "3-7 days", "> 7 days"]
    counts = [0] * len(labels)
    for h in hours:
        counts[sum(h >= e for e in edges)] += 1
    return {"count": len(hours), "median_h": median(hours), "p90_h": hours[min(len(hours) - 1, int(0.9 * len(hours)))],
            "buckets": list(zip(labels, counts))}


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t


def csv_rows(store, practices=None) -> list[list]:
    """Every table of the metrics page in one CSV: section, key, numbers."""
    out: list[list] = [["section", "key", "decided", "approved", "edited", "rejected", "open", "acceptance"]]
    for by in ("rule", "code"):
        for a in acceptance(store, by, practices):
            out.append([f"acceptance-per-{by}", a.key, a.decided, a.approved, a.edited, a.rejected, a.open,
                        "" if a.rate is None else f"{a.rate:.3f}"])
    out.append(["section", "rule", "from", "to", "modifiers", "count", "", ""])
    for e in edits(store, practices):
        out.append(["edits", e["rule"], e["from"], e["to"], e["modifiers"], e["count"], "", ""])
    out.append(["section", "day", "suggested", "decided", "", "", "", ""])
    for d, n, k in per_day(store, practices):
        out.append(["per-day", d, n, k, "", "", "", ""])
    times = review_times(store, practices)
    out.append(["section", "bucket", "lines", "", "", "", "", ""])
    for label, n in times["buckets"]:
        out.append(["time-to-review", label, n, "", "", "", "", ""])
    return out
