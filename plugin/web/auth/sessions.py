"""Server-side sessions. The cookie holds a random 256-bit value; the table holds only its SHA-256, the
user, the session's CSRF token and its times (the service clock, Unix seconds). A session ends after
`session_idle_s` without a request or `session_max_s` after sign-in, whichever comes first; at sign-out;
and when the user's password, role or practice is reset.

Cookie: HttpOnly, SameSite=Lax, Path=/; over https also Secure, under the `__Host-` name prefix.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select

from plugin.store.auth import AuthSession, UserRow
from plugin.web.auth.model import User
from plugin.web.auth.users import to_user

COOKIE = "dwcoder_session"
SECURE_COOKIE = "__Host-dwcoder_session"
TOUCH_EVERY_S = 30      # last_seen_at is written at most this often per session


@dataclass(frozen=True)
class SignedIn:
    user: User
    csrf: str
    id_hash: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def cookie_name(secure: bool) -> str:
    return SECURE_COOKIE if secure else COOKIE


def create(store, user_id: int, now: int) -> tuple[str, str]:
    """A new session: (cookie value, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with store.transaction() as db:
        db.add(AuthSession(id_hash=digest(token), user_id=user_id, csrf=csrf, created_at=now, last_seen_at=now))
    return token, csrf


def load(store, token: str, now: int, idle_s: float, max_s: float) -> SignedIn | None:
    """The live session of `token`, touched; an expired one is deleted and None returned."""
    key = digest(token)
    with store.sessions() as db:
        found = db.execute(select(AuthSession, UserRow).join(UserRow, UserRow.id == AuthSession.user_id)
                           .where(AuthSession.id_hash == key)).first()
    if found is None:
        return None
    session, row = found
    if row.disabled or now - session.last_seen_at > idle_s or now - session.created_at > max_s or now < session.created_at - 60:
        end(store, token)
        return None
    if now - session.last_seen_at >= TOUCH_EVERY_S:
        with store.transaction() as db:
            live = db.get(AuthSession, key)
            if live is not None:
                live.last_seen_at = now
    return SignedIn(user=to_user(row), csrf=session.csrf, id_hash=key)


def end(store, token: str) -> None:
    with store.transaction() as db:
        db.execute(delete(AuthSession).where(AuthSession.id_hash == digest(token)))


def purge(store, now: int, idle_s: float, max_s: float) -> int:
    """Delete every expired session; returns how many."""
    with store.transaction() as db:
        result = db.execute(delete(AuthSession).where(
            (AuthSession.last_seen_at < now - idle_s) | (AuthSession.created_at < now - max_s)))
        return result.rowcount or 0
