"""Nothing missed: whatever the order, duplicates and losses of a subscription's events, a final heartbeat
leaves either every event delivered or a requery stored; an orderly stream never requeries."""
from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st

from plugin.sources.config import subscription_source
from plugin.sources.notifications import read_notification
from plugin.sources.subscriptions import Seen, notification_events
from tests.sources.shapes import SHAPES

SUB = subscription_source("s1", None)
NOW = datetime(2026, 3, 2, tzinfo=timezone.utc)


def deliver(bodies):
    """Run notifications through as the web layer does (the store keeps the highest count seen)."""
    seen, requeries = None, []
    for body in bodies:
        note = read_notification(body)
        out = notification_events(SUB, note, "", seen, NOW)
        requeries += [e.dedup_key for e in out if e.kind == "requery"]
        count = max([note.events_since_start or 0, *note.event_numbers, seen.events_since_start if seen else 0])
        seen = Seen(count, NOW)
    return requeries


def event(shape, n):
    return SHAPES[shape]("event-notification", sub="s1", count=n,
                         events=[{"n": n}], resources=[{"resourceType": "Basic", "id": f"b{n}", "code": {"text": "x"}}])


@settings(max_examples=200, deadline=None)
@given(total=st.integers(1, 12), shape=st.sampled_from(sorted(SHAPES)), data=st.data())
def test_a_lost_event_always_leads_to_a_requery(total, shape, data):
    delivered = data.draw(st.lists(st.integers(1, total), max_size=3 * total))
    order = data.draw(st.permutations(delivered))
    requeries = deliver([event(shape, n) for n in order] + [SHAPES[shape]("heartbeat", sub="s1", count=total)])
    if set(delivered) != set(range(1, total + 1)):
        assert requeries
    elif list(order) == sorted(set(order)):
        assert requeries == []


@settings(max_examples=50, deadline=None)
@given(total=st.integers(1, 12), shape=st.sampled_from(sorted(SHAPES)))
def test_an_orderly_stream_with_heartbeats_never_requeries(total, shape):
    bodies = [SHAPES[shape]("handshake", sub="s1", count=0)]
    for n in range(1, total + 1):
        bodies += [event(shape, n), SHAPES[shape]("heartbeat", sub="s1", count=n)]
    assert deliver(bodies) == []
