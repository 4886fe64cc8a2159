"""FHIR Subscription bookkeeping (table subscription_state), used by plugin/sources/subscriptions.py.

`record_notification` stores the highest eventsSinceSubscriptionStart seen and returns the previous one, so
the caller can see a gap; `record_heartbeat` notes a heartbeat; `overdue` lists subscriptions whose heartbeat
is late (more than 2 periods), which call for a re-query.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from plugin.store.models import SubscriptionState


def _row(session, subscription_id: str) -> SubscriptionState:
    row = session.get(SubscriptionState, subscription_id, with_for_update=True)
    if row is None:
        row = SubscriptionState(subscription_id=subscription_id, events_since_start=0)
        session.add(row)
        session.flush()
    return row


def record_notification(db, subscription_id: str, events_since_start: int | None,
                        heartbeat_period_s: float | None = None) -> int:
    """Note a notification; returns the count stored before it (0 for a new subscription)."""
    return _record(db, subscription_id, events_since_start, heartbeat_period_s, "last_event_at")


def record_heartbeat(db, subscription_id: str, events_since_start: int | None = None,
                     heartbeat_period_s: float | None = None) -> int:
    """Note a heartbeat (or handshake); returns the count stored before it."""
    return _record(db, subscription_id, events_since_start, heartbeat_period_s, "last_heartbeat_at")


def _record(db, subscription_id: str, events_since_start: int | None, heartbeat_period_s: float | None,
            seen_field: str) -> int:
    with db.transaction() as session:
        row = _row(session, subscription_id)
        before = row.events_since_start or 0
        if events_since_start is not None and events_since_start > before:
            row.events_since_start = events_since_start
        setattr(row, seen_field, datetime.now(timezone.utc))
        if heartbeat_period_s:
            row.heartbeat_period_s = heartbeat_period_s
        return before


def get(db, subscription_id: str) -> SubscriptionState | None:
    with db.sessions() as session:
        return session.get(SubscriptionState, subscription_id)


def overdue(db, now: datetime | None = None) -> list[str]:
    """Subscriptions with a heartbeat period whose last heartbeat or event is older than two periods."""
    now = now or datetime.now(timezone.utc)
    out = []
    with db.sessions() as session:
        for row in session.scalars(select(SubscriptionState).where(SubscriptionState.heartbeat_period_s.is_not(None))):
            last = max((_aware(t) for t in (row.last_heartbeat_at, row.last_event_at) if t), default=None)
            if last is None or now - last > timedelta(seconds=2 * row.heartbeat_period_s):
                out.append(row.subscription_id)
    return sorted(out)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
