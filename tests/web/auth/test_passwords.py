"""argon2id hashes: verification, rehash of a hash made with weaker parameters at the next sign-in,
nothing matches an empty or foreign hash."""
from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import select

from plugin.store.auth import UserRow
from plugin.web.auth import passwords
from plugin.web.auth.users import password_sign_in
from tests.web.auth.browser import PASSWORD


def test_hash_is_argon2id_with_current_parameters():
    digest = passwords.hash_password(PASSWORD)
    assert digest.startswith("$argon2id$") and not passwords.HASHER.check_needs_rehash(digest)
    assert passwords.verify(digest, PASSWORD) == (True, None)
    assert passwords.verify(digest, PASSWORD + "x") == (False, None)


def test_empty_or_foreign_hashes_never_match():
    assert passwords.verify("", "") == (False, None)
    assert passwords.verify("", PASSWORD)[0] is False
    assert passwords.verify("$2b$12$abcdefghijklmnopqrstuuVvVvVvVvVvVvVvVvVvVvVvVvVvVvVvV", PASSWORD)[0] is False
    assert passwords.verify("plaintext", "plaintext")[0] is False


def test_weak_hash_is_replaced_at_sign_in(make_user, auth_store):
    user = make_user()
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with auth_store.transaction() as db:
        db.get(UserRow, user.id).password_hash = weak
    assert password_sign_in(auth_store, user.username, PASSWORD) is not None
    with auth_store.sessions() as db:
        stored = db.scalar(select(UserRow.password_hash).where(UserRow.id == user.id))
    assert stored != weak and not passwords.HASHER.check_needs_rehash(stored)
    assert passwords.verify(stored, PASSWORD)[0]
    assert password_sign_in(auth_store, user.username, "not the password!!") is None


def test_strength_limits():
    import pytest

    with pytest.raises(ValueError, match="at least 12"):
        passwords.hash_password("short")
    with pytest.raises(ValueError, match="at most"):
        passwords.hash_password("x" * 2000)
    assert passwords.verify(passwords.hash_password("y" * 20), "y" * 2000) == (False, None)
