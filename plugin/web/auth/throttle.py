"""Failed sign-ins, counted per username and per client address in the store (so every process of the
service agrees). After `free` failures in a row, each further failure blocks the key for 1, 2, 4, ... s,
at most MAX_BLOCK_S; a key quiet for FORGET_S starts again from zero. A successful sign-in clears the
username's count (not the address's: one right password does not excuse a spray of wrong ones)."""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from plugin.store.auth import LoginThrottle

FREE = {"user": 5, "addr": 20}
MAX_BLOCK_S = 900
FORGET_S = 3600


def keys(username: str, address: str) -> list[str]:
    return [f"user:{username.strip().lower()[:200]}", f"addr:{address[:200]}"]


def blocked_for(store, keys_: list[str], now: int) -> int:
    """Seconds until every key may try again (0: now)."""
    with store.sessions() as db:
        until = db.scalars(select(LoginThrottle.blocked_until).where(LoginThrottle.key.in_(keys_))).all()
    return max([u - now for u in until] + [0])


def failed(store, keys_: list[str], now: int) -> int:
    """Count one failure on each key; returns the seconds the longest block now lasts. Two processes
    creating the same key at once: the loser counts again on the row the winner made."""
    try:
        return _failed(store, keys_, now)
    except IntegrityError:
        return _failed(store, keys_, now)


def _failed(store, keys_: list[str], now: int) -> int:
    longest = 0
    with store.transaction() as db:
        db.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < now - FORGET_S,
                                               LoginThrottle.blocked_until < now))
        for key in keys_:
            row = db.get(LoginThrottle, key, with_for_update=True)
            if row is None:
                row = LoginThrottle(key=key, failures=0, last_failure_at=now, blocked_until=0)
                db.add(row)
            row.failures = (row.failures or 0) + 1
            row.last_failure_at = now
            over = row.failures - FREE[key.split(":", 1)[0]]
            if over > 0:
                row.blocked_until = now + min(2 ** min(over - 1, 20), MAX_BLOCK_S)
                longest = max(longest, row.blocked_until - now)
    return longest


def succeeded(store, username_key: str) -> None:
    with store.transaction() as db:
        db.execute(delete(LoginThrottle).where(LoginThrottle.key == username_key))
