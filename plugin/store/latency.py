"""Latency from webhook to ChargeItem, kept in the database as a cumulative histogram (issue 11).

One row per bucket (`le` label, upper bound in seconds); observing a latency adds 1 to every bucket whose bound is
at least that latency, and the latency to their `total_s`, in ONE statement inside the recomputation's own
transaction. So the histogram is exact across api, worker and beat processes and machines, costs nothing at
scrape time (13 rows), and survives restarts; the `+Inf` row holds the count and the sum.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Float, Integer, String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from plugin.store.models import Base, Event

BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
INF = 1e18  # the +Inf bucket's bound (a real number, for SQLite and PostgreSQL alike)


def label(bound: float) -> str:
    return "+Inf" if bound >= INF else f"{bound:g}"


class LatencyBucket(Base):
    __tablename__ = "latency_buckets"
    le: Mapped[str] = mapped_column(String(16), primary_key=True)
    le_s: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer, default=0)
    total_s: Mapped[float] = mapped_column(Float, default=0.0)


def observe(session, correlation_id: str, now: datetime | None = None, received: datetime | None = None) -> float | None:
    """Count the time from the receipt of the event(s) with this correlation id to now; the latency, or None.
    `received`: that receipt time when the caller has it (the event recomputing its own case at once)."""
    if not correlation_id:
        return None
    if received is None:
        received = session.scalar(select(func.min(Event.received_at)).where(Event.correlation_id == correlation_id))
    if received is None:
        return None
    if received.tzinfo is None:
        received = received.replace(tzinfo=timezone.utc)
    seconds = max(0.0, ((now or datetime.now(timezone.utc)) - received).total_seconds())
    session.execute(update(LatencyBucket).where(LatencyBucket.le_s >= seconds)
                    .values(count=LatencyBucket.count + 1, total_s=LatencyBucket.total_s + seconds)
                    .execution_options(synchronize_session=False))  # no bucket is loaded: nothing to keep in step
    return seconds


def buckets(session) -> list[tuple[str, float, int, float]]:
    """(le label, bound, cumulative count, sum of seconds) per bucket, smallest bound first."""
    rows = session.execute(select(LatencyBucket.le, LatencyBucket.le_s, LatencyBucket.count, LatencyBucket.total_s)
                           .order_by(LatencyBucket.le_s))
    return [(r[0], r[1], int(r[2]), float(r[3])) for r in rows]
