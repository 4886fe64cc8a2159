"""`dwcoder dead-letters list|show ID|replay ID|--all`: events that could not be processed.

list: id, when, source, kind, reason, attempts (no payload). show: the same and the message (never the body).
replay: back to the queue after the cause was fixed (with REDIS_URL unset, the events wait in the database
until `dwcoder serve` runs: its local queue picks up every queued event when it starts).
"""
from __future__ import annotations

import argparse
import sys

from sqlalchemy import select


def register(sub) -> None:
    d = sub.add_parser("dead-letters", help="list, show or replay events that could not be processed")
    dsub = d.add_subparsers(required=True, dest="action")
    dsub.add_parser("list", help="every dead letter not replayed").set_defaults(run=_list)
    show = dsub.add_parser("show", help="one dead letter")
    show.add_argument("event_id", type=int)
    show.set_defaults(run=_show)
    replay = dsub.add_parser("replay", help="queue dead letters again")
    replay.add_argument("event_id", type=int, nargs="?")
    replay.add_argument("--all", action="store_true", help="every dead letter not replayed yet")
    replay.set_defaults(run=_replay)


def _ctx():
    from plugin import pipeline
    from plugin.settings import Settings

    return pipeline.context(Settings.from_env())


def rows(ctx, include_replayed: bool = False):
    from plugin.store.models import DeadLetter, Event

    with ctx.store.sessions() as s:
        q = select(DeadLetter, Event).join(Event, Event.id == DeadLetter.event_id).order_by(DeadLetter.event_id)
        if not include_replayed:
            q = q.where(Event.status == "dead")
        return list(s.execute(q).all())


def _list(args: argparse.Namespace) -> int:
    found = rows(_ctx())
    if not found:
        print("no dead letters")
        return 0
    print(f"{'event':>7}  {'when':<20} {'source':<28} {'kind':<11} {'attempts':>8}  reason")
    for letter, event in found:
        print(f"{event.id:>7}  {letter.created_at:%Y-%m-%d %H:%M:%S} {event.source[:28]:<28} {event.kind:<11} "
              f"{event.attempts:>8}  {letter.reason}")
    return 0


def _show(args: argparse.Namespace) -> int:
    for letter, event in rows(_ctx(), include_replayed=True):
        if event.id == args.event_id:
            print(f"event {event.id}\n  source: {event.source}\n  kind: {event.kind} ({event.content_type.split(';')[0]}, "
                  f"{len(event.body)} bytes)\n  received: {event.received_at}\n  status: {event.status}\n"
                  f"  attempts: {event.attempts}\n  correlation id: {event.correlation_id}\n  reason: {letter.reason}\n"
                  f"  message: {letter.message}\n  replayed: {letter.replayed_at or 'no'}")
            return 0
    print(f"dwcoder: no dead letter for event {args.event_id}", file=sys.stderr)
    return 1


def _replay(args: argparse.Namespace) -> int:
    from plugin import pipeline

    ctx = _ctx()
    if args.all == (args.event_id is not None):
        print("dwcoder: give one event id or --all", file=sys.stderr)
        return 2
    ids = [e.id for _, e in rows(ctx)] if args.all else [args.event_id]
    done = [i for i in ids if pipeline.replay(ctx, i)]
    for event_id in sorted(set(ids) - set(done)):
        print(f"dwcoder: event {event_id} is not a dead letter", file=sys.stderr)
    print(f"replayed {len(done)} event(s)")
    return 0 if len(done) == len(ids) else 1
