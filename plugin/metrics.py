"""Prometheus metrics, computed at scrape time from the database (and Redis for the queue depth).

Why from the database rather than counters in each process: the work is done by Celery worker processes (prefork
children that come and go, on several machines), the api and beat; in-process counters would need a
multiprocess directory per machine, lose counts when a child is replaced and double count across replicas.
The database already records every event (source, status), every dead letter, every suggestion and every
posting, so any api replica answers the same, exact numbers. The one measure the rows do not hold, the time
from webhook to ChargeItem, is kept as a cumulative histogram in the database too (plugin/store/latency.py).

    dwcoder_events_received_total{source}     events accepted (stored), by source ("webhook:<name>", "subscription:<id>")
    dwcoder_events_processed_total{source}    events done
    dwcoder_events_failed_total{source}       events that are dead letters now (a replayed one leaves this count)
    dwcoder_events_pending{source,status}     queued or processing (the backlog, whatever the broker holds)
    dwcoder_dead_letters{reason}              dead letters not replayed
    dwcoder_queue_depth{queue}                tasks waiting in the Redis list of the Celery queue (REDIS_URL set)
    dwcoder_suggestions{status}               charge lines: active | withdrawn | held
    dwcoder_suggestion_decisions{decision}    reviewer decisions: accepted | rejected | pending (see DECISIONS)
    dwcoder_chargeitem_latency_seconds        histogram, webhook received -> ChargeItem written
    dwcoder_scrape_error{part}                1 when a part could not be read (the rest is still reported)

The counters are row counts: if events are ever purged they go down, which Prometheus reads as a reset.
"""
from __future__ import annotations

from typing import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import func, select

from plugin.store.latency import buckets
from plugin.store.models import DeadLetter, Event, LocalChargeItem, Suggestion

CELERY_QUEUE = "celery"  # Celery's default queue: workers/app.py names no other (KEDA scales on this list)
REDIS_TIMEOUT_S = 1.0

# ChargeItem status a reviewer sets -> decision (embedded ChargeItem store: the reviewer's own statuses)
STATUS_DECISION = {"billable": "accepted", "billed": "accepted", "not-billable": "rejected", "aborted": "rejected",
                   "planned": "pending"}


def embedded_decisions(session) -> dict[str, int]:
    """Decisions read from the embedded ChargeItem store (a reviewer's status on each line)."""
    out: dict[str, int] = {}
    for status, count in session.execute(select(LocalChargeItem.status, func.count()).group_by(LocalChargeItem.status)):
        decision = STATUS_DECISION.get(status)
        if decision:
            out[decision] = out.get(decision, 0) + count
    return out


# HOOK: the reviewer queue (issues 9/10) registers its own counter here, e.g.
#   metrics.DECISIONS.append(lambda session: {"accepted": n1, "rejected": n2, "pending": n3})
# Every registered function's counts are added up; with none, the embedded store's statuses are used.
DECISIONS: list[Callable[[object], dict[str, int]]] = []


class StoreCollector:
    """A prometheus_client collector reading the store (and Redis) at each scrape."""

    def __init__(self, settings, store) -> None:
        self.settings, self.store = settings, store

    def collect(self) -> Iterator:
        errors = GaugeMetricFamily("dwcoder_scrape_error", "1 when a part of the metrics could not be read", labels=["part"])
        for part, produce in (("events", self._events), ("suggestions", self._suggestions),
                              ("latency", self._latency), ("queue", self._queue)):
            try:
                yield from produce()
                errors.add_metric([part], 0)
            except Exception:  # one unreadable part must not hide the others
                errors.add_metric([part], 1)
        yield errors

    def _events(self) -> Iterator:
        received = CounterMetricFamily("dwcoder_events_received", "events accepted (stored)", labels=["source"])
        processed = CounterMetricFamily("dwcoder_events_processed", "events processed", labels=["source"])
        failed = CounterMetricFamily("dwcoder_events_failed", "events that are dead letters", labels=["source"])
        pending = GaugeMetricFamily("dwcoder_events_pending", "events queued or processing", labels=["source", "status"])
        dead = GaugeMetricFamily("dwcoder_dead_letters", "dead letters not replayed", labels=["reason"])
        totals: dict[str, dict[str, int]] = {}
        with self.store.sessions() as s:
            for source, status, count in s.execute(select(Event.source, Event.status, func.count())
                                                   .group_by(Event.source, Event.status)):
                totals.setdefault(source, {})[status] = count
            letters = s.execute(select(DeadLetter.reason, func.count()).where(DeadLetter.replayed_at.is_(None))
                                .group_by(DeadLetter.reason)).all()
        for source, by in sorted(totals.items()):
            received.add_metric([source], sum(by.values()))
            processed.add_metric([source], by.get("done", 0))
            failed.add_metric([source], by.get("dead", 0))
            for status in ("queued", "processing"):
                pending.add_metric([source, status], by.get(status, 0))
        for reason, count in sorted(letters):
            dead.add_metric([reason], count)
        yield from (received, processed, failed, pending, dead)

    def _suggestions(self) -> Iterator:
        lines = GaugeMetricFamily("dwcoder_suggestions", "charge lines suggested, by status", labels=["status"])
        decisions = GaugeMetricFamily("dwcoder_suggestion_decisions", "reviewer decisions on suggested lines",
                                      labels=["decision"])
        with self.store.sessions() as s:
            for status, count in sorted(s.execute(select(Suggestion.status, func.count()).group_by(Suggestion.status))):
                lines.add_metric([status], count)
            counts: dict[str, int] = {}
            for source in DECISIONS or [embedded_decisions]:
                for decision, count in source(s).items():
                    counts[decision] = counts.get(decision, 0) + count
        for decision in ("accepted", "rejected", "pending"):
            decisions.add_metric([decision], counts.get(decision, 0))
        yield from (lines, decisions)

    def _latency(self) -> Iterator:
        with self.store.sessions() as s:
            rows = buckets(s)
        total = rows[-1][3] if rows else 0.0
        hist = HistogramMetricFamily("dwcoder_chargeitem_latency_seconds",
                                     "seconds from a webhook's receipt to its ChargeItem written",
                                     buckets=[(le, count) for le, _, count, _ in rows], sum_value=total)
        yield hist

    def _queue(self) -> Iterator:
        if not self.settings.redis_url:
            return
        import redis

        client = redis.Redis.from_url(self.settings.redis_url, socket_timeout=REDIS_TIMEOUT_S,
                                      socket_connect_timeout=REDIS_TIMEOUT_S)
        try:
            depth = client.llen(CELERY_QUEUE)
        finally:
            client.close()
        gauge = GaugeMetricFamily("dwcoder_queue_depth", "tasks waiting in the Celery queue's Redis list", labels=["queue"])
        gauge.add_metric([CELERY_QUEUE], depth)
        yield gauge


def exposition(settings, store) -> bytes:
    """The metrics in Prometheus text format."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(settings, store))
    return generate_latest(registry)
