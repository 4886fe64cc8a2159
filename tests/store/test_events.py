"""plugin/store/events.py: accept writes before answering, deduplicates by key, fails as StoreUnavailable."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from plugin.errors import StoreUnavailable
from plugin.store import Store
from plugin.store.events import EventIn, accept
from plugin.store.models import Event


def _ev(key: str, body: bytes = b"{}") -> EventIn:
    return EventIn("webhook:lab", "fhir", key, "application/fhir+json", body, "cid-1")


def test_accept_stores_and_deduplicates(database_url):
    store = Store(database_url)
    first = accept(store, [_ev("a"), _ev("b"), _ev("a")])
    assert [a.duplicate for a in first] == [False, False, True]
    assert first[0].event_id == first[2].event_id != first[1].event_id
    again = accept(store, [_ev("b", b'{"other": 1}'), _ev("c")])
    assert again[0] == type(again[0])(first[1].event_id, True)
    assert not again[1].duplicate
    with store.sessions() as s:
        rows = s.scalars(select(Event).order_by(Event.id)).all()
        assert [(r.dedup_key, r.status, r.body, r.correlation_id) for r in rows] == [
            ("a", "queued", b"{}", "cid-1"), ("b", "queued", b"{}", "cid-1"), ("c", "queued", b"{}", "cid-1")]
    store.dispose()


def test_a_correlation_id_is_made_when_none_is_given(database_url):
    store = Store(database_url)
    accepted = accept(store, [EventIn("cli", "fhir", "k", "application/json", b"{}")])
    with store.sessions() as s:
        assert len(s.get(Event, accepted[0].event_id).correlation_id) == 32
    store.dispose()


def test_unknown_kind_is_refused_before_anything_is_written(database_url):
    store = Store(database_url)
    with pytest.raises(ValueError, match="unknown event kind 'pdf'"):
        accept(store, [_ev("ok"), EventIn("cli", "pdf", "x", "application/pdf", b"")])
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0
    store.dispose()


def test_a_database_that_is_down_is_store_unavailable(tmp_path):
    store = Store("postgresql://postgres@127.0.0.1:1/nowhere", migrate=False)
    with pytest.raises(StoreUnavailable, match="the database cannot take the event"):
        accept(store, [_ev("a")])


def test_a_database_that_cannot_be_migrated_is_store_unavailable():
    with pytest.raises(StoreUnavailable, match="cannot be migrated"):
        Store("postgresql://postgres@127.0.0.1:1/nowhere")
