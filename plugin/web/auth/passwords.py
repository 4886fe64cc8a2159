"""Password hashes: argon2id (argon2-cffi's current defaults). A hash made with older parameters is
replaced at the next successful sign-in (`verify` says so)."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

HASHER = PasswordHasher()
MIN_LENGTH = 12
MAX_LENGTH = 1024
# verified against when the username is unknown, so an unknown name takes as long as a wrong password
_DUMMY = HASHER.hash("dwcoder: no such user, the time of a real check")


def hash_password(password: str) -> str:
    check_strength(password)
    return HASHER.hash(password)


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"a password has at most {MAX_LENGTH} characters")


def verify(stored_hash: str, password: str, hasher: PasswordHasher = HASHER) -> tuple[bool, str | None]:
    """(matches, new hash to store or None). An empty or unreadable stored hash never matches."""
    if len(password) > MAX_LENGTH:
        return False, None
    try:
        hasher.verify(stored_hash or _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if not stored_hash:
        return False, None
    return True, (hasher.hash(password) if hasher.check_needs_rehash(stored_hash) else None)


def waste_time(password: str) -> None:
    """The cost of one verification, for a username that does not exist."""
    verify("", password)
