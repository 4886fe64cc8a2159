"""Accepted events: stored in one transaction (plugin.store.events.accept), then each new event's id is
queued (plugin.queue). A queue that is down does not lose the event: it is in the database, and the
sweeper queues it again; the sender still gets its 202. Database errors become StoreUnavailable (503).
"""
from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.concurrency import run_in_threadpool

from plugin.errors import StoreUnavailable
from plugin.store.events import Accepted, EventIn, accept

log = logging.getLogger("dwcoder.web")


async def store_and_queue(service, events: list[EventIn]) -> list[Accepted]:
    if not events:
        return []
    accepted = await in_store(accept, service.store, events)
    fresh = [item.event_id for item in accepted if not item.duplicate]
    if fresh:
        await run_in_threadpool(_enqueue, service, fresh)
    return accepted


def _enqueue(service, event_ids: list[int]) -> None:
    for event_id in event_ids:
        try:
            service.queue_event(event_id)
        except Exception as exc:  # the database holds it; the sweeper queues it again
            log.warning("event %s stored but not queued (%s); the sweeper will queue it", event_id, type(exc).__name__)


async def in_store(call, *args):
    """A store call off the event loop; database errors become StoreUnavailable."""
    try:
        return await run_in_threadpool(call, *args)
    except (OperationalError, DBAPIError) as exc:
        raise StoreUnavailable(f"the database cannot be read ({type(getattr(exc, 'orig', exc)).__name__})") from None


def answer(accepted: list[Accepted], correlation_id: str) -> tuple[int, dict]:
    """202 when something new was stored, 200 when every event was seen before."""
    fresh = any(not item.duplicate for item in accepted)
    body = {"accepted": [{"event": item.event_id, "duplicate": item.duplicate} for item in accepted],
            "correlationId": correlation_id}
    return (202 if fresh else 200), body
