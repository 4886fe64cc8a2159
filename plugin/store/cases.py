"""Case groups: the dirty marker, the version every change bumps, the per-case lock, the review flag.

Debounce: each change marks the group dirty with `last_event_at = now` and bumps `version`; a recomputation
runs only once the group has been quiet for `settle_s`, and clears `dirty` only when no change came in while it
ran (compare on version). Lock: SELECT ... FOR UPDATE on the case's row (PostgreSQL; every group that has
evidence has its row, written by `mark_dirty` with the evidence, and rows are never deleted); SQLite takes the
database's single write lock (BEGIN IMMEDIATE) for the whole recomputation.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from plugin.store.models import Case


def aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=timezone.utc) if t is not None and t.tzinfo is None else t


def mark_dirty(session, case_key: str, correlation_id: str = "") -> None:
    now = datetime.now(timezone.utc)
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Case).values(key=case_key, dirty=True, version=1, computed_version=0, last_event_at=now,
                               needs_review=False, review_reason="", correlation_id=correlation_id[:64])
    stmt = stmt.on_conflict_do_update(index_elements=[Case.key], set_={
        "dirty": True, "version": Case.version + 1, "last_event_at": now, "correlation_id": correlation_id[:64]})
    session.execute(stmt)


def lock(session, case_key: str) -> Case | None:
    """Take the case's lock for this transaction and return its row (None: no such case, nothing to lock)."""
    return session.scalar(select(Case).where(Case.key == case_key).with_for_update())


def quiet_for(case: Case, settle_s: float, now: datetime | None = None) -> float:
    """Seconds still to wait before the burst counts as settled (0: recompute now)."""
    now = now or datetime.now(timezone.utc)
    left = (aware(case.last_event_at) + timedelta(seconds=settle_s) - now).total_seconds()
    return max(0.0, left)


def dirty_cases(session, older_than_s: float) -> list[str]:
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=older_than_s)
    return list(session.scalars(select(Case.key).where(Case.dirty.is_(True), Case.last_event_at < cutoff).order_by(Case.key)))
