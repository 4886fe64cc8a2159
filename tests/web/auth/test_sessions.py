"""Sessions end: idle, absolute, at sign-out, on reset or disable; the store keeps no dead ones."""
from __future__ import annotations

from sqlalchemy import func, select

from plugin.store.auth import AuthSession
from plugin.web.auth import sessions
from plugin.web.auth.users import reset_user

# auth_settings: DWCODER_SESSION_IDLE_S=600, DWCODER_SESSION_MAX_S=3600
GUARDED_GET = "/review"


def _in(b) -> bool:
    status = b.request("GET", GUARDED_GET, headers={"accept": "application/json"}).status_code
    assert status in (200, 401), status
    return status == 200


def _rows(store) -> int:
    with store.sessions() as db:
        return db.scalar(select(func.count()).select_from(AuthSession))


def test_idle_expiry(signed_in, clock, auth_store):
    b, _ = signed_in()
    clock.advance(599)
    assert _in(b)                      # a request within the idle time keeps it alive...
    clock.advance(599)
    assert _in(b)
    clock.advance(601)                 # ...and 601 s without one ends it
    assert not _in(b)
    assert _rows(auth_store) == 0


def test_absolute_expiry_despite_activity(signed_in, clock):
    b, _ = signed_in()
    for _ in range(11):                # 11 x 300 s = 3300 s, always active
        clock.advance(300)
        assert _in(b)
    clock.advance(301)                 # 3601 s after sign-in
    assert not _in(b)


def test_reset_and_disable_end_sessions(signed_in, auth_store):
    b, user = signed_in()
    assert _in(b)
    reset_user(auth_store, user.username, role="admin")
    assert not _in(b)
    b2 = signed_in()[0]
    assert _in(b2)


def test_a_clock_set_back_does_not_revive_or_stretch(signed_in, clock):
    b, _ = signed_in()
    clock.advance(-3600)
    assert not _in(b)


def test_purge_removes_only_expired(signed_in, clock, auth_store):
    signed_in()
    clock.advance(500)
    signed_in()
    assert sessions.purge(auth_store, int(clock()) + 200, 600, 3600) == 1
    assert _rows(auth_store) == 1


def test_a_sign_in_clears_dead_sessions(signed_in, clock, auth_store):
    signed_in()
    clock.advance(601)
    signed_in()
    assert _rows(auth_store) == 1
