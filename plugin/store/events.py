"""Accepting events: the web layer calls `accept` before it answers 202; the queue only carries the ids.

Each event is written in one transaction with the others of the same request, deduplicated by `dedup_key`
(webhook-id, "<subscription>#<eventNumber>", "Type/id/_history/vid" or "sha256:<hex of body>"): an event seen
before is answered with the first one's id and `duplicate=True`, and is not queued again by the caller.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError, DBAPIError

from plugin.errors import StoreUnavailable
from plugin.store.models import Event

KINDS = frozenset({"fhir", "dicom-json", "dicom-file", "mesh-file", "fetch", "requery", "pacs-study",
                   "fetch-attachment"})  # issue 8: a scan attached to a DocumentReference / Media


@dataclass(frozen=True)
class EventIn:
    source: str  # configured source name ("subscription:<id>", "webhook:<name>", "cli")
    kind: str  # one of KINDS
    dedup_key: str
    content_type: str
    body: bytes
    correlation_id: str = ""


@dataclass(frozen=True)
class Accepted:
    event_id: int
    duplicate: bool


def accept(db, events: list[EventIn]) -> list[Accepted]:
    """Store the events in one transaction; raises StoreUnavailable when the database cannot take them."""
    for ev in events:
        if ev.kind not in KINDS:
            raise ValueError(f"unknown event kind {ev.kind!r}: expected one of {', '.join(sorted(KINDS))}")
        if not ev.dedup_key or len(ev.dedup_key) > 512:
            raise ValueError("dedup_key must be 1-512 characters")
    for attempt in range(3):  # a concurrent insert of the same key: retry sees it as a duplicate
        try:
            return _accept_once(db, events)
        except IntegrityError:
            if attempt == 2:
                raise StoreUnavailable("the events could not be stored: the same keys were being written concurrently") from None
        except (OperationalError, DBAPIError) as exc:
            raise StoreUnavailable(f"the database cannot take the event ({type(getattr(exc, 'orig', exc)).__name__})") from None
    raise AssertionError("unreachable")


def _accept_once(db, events: list[EventIn]) -> list[Accepted]:
    out: list[Accepted] = []
    with db.transaction() as session:
        keys = list(dict.fromkeys(ev.dedup_key for ev in events))
        known = dict(session.execute(select(Event.dedup_key, Event.id).where(Event.dedup_key.in_(keys))).all())
        fresh: dict[str, Event] = {}
        for ev in events:
            if ev.dedup_key in known or ev.dedup_key in fresh:
                continue
            row = Event(source=ev.source[:200], kind=ev.kind, dedup_key=ev.dedup_key, content_type=ev.content_type[:300],
                        body=ev.body, correlation_id=(ev.correlation_id or uuid.uuid4().hex)[:64], status="queued",
                        attempts=0, last_error="")
            session.add(row)
            fresh[ev.dedup_key] = row
        session.flush()
        first: set[str] = set()
        for ev in events:
            if ev.dedup_key in fresh and ev.dedup_key not in first:
                first.add(ev.dedup_key)
                out.append(Accepted(fresh[ev.dedup_key].id, False))
            else:
                out.append(Accepted(known.get(ev.dedup_key) or fresh[ev.dedup_key].id, True))
    return out


def accept_and_enqueue(db, settings, events: list[EventIn]) -> list[Accepted]:
    """accept, then queue each new event's id (what the web layer and `dwcoder demo` do)."""
    from plugin import queue

    accepted = accept(db, events)
    for item in accepted:
        if not item.duplicate:
            queue.enqueue(settings, queue.TASK_PROCESS_EVENT, item.event_id)
    return accepted
