"""plugin/store/subscriptions.py: eventsSinceSubscriptionStart kept per subscription; late heartbeats found."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from plugin.store import Store, subscriptions


def test_counts_and_overdue_heartbeats(database_url):
    store = Store(database_url)
    assert subscriptions.record_notification(store, "s1", 3, heartbeat_period_s=60) == 0
    assert subscriptions.record_notification(store, "s1", 2) == 3  # an older one late: the count stays
    assert subscriptions.record_heartbeat(store, "s1", 5) == 3
    assert subscriptions.get(store, "s1").events_since_start == 5
    assert subscriptions.overdue(store) == []
    assert subscriptions.overdue(store, datetime.now(timezone.utc) + timedelta(seconds=121)) == ["s1"]
    store.dispose()
