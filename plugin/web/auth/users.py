"""Users in the store: add, reset, list, find; password sign-in (argon2, rehash on need); OpenID Connect
users created or updated from their claims at each sign-in. Synchronous: call through in_store from the web."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import delete, select

from plugin.store.auth import AuthSession, UserRow
from plugin.web.auth import passwords
from plugin.web.auth.model import ROLES, User, check_practice

USERNAME_MAX = 200


class UserError(ValueError):
    """A user cannot be added or changed; the message says why (never the password)."""


def to_user(row: UserRow) -> User:
    return User(id=row.id, username=row.username, role=row.role, practice=row.practice)


def _check(username: str, role: str, practice: str) -> tuple[str, str, str]:
    username = username.strip()
    if not username or len(username) > USERNAME_MAX or any(c.isspace() or not c.isprintable() for c in username):
        raise UserError(f"username {username!r}: 1 to {USERNAME_MAX} printable characters, no spaces")
    if role not in ROLES:
        raise UserError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    try:
        practice = check_practice(practice)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return username, role, practice


def add_user(store, username: str, password: str, role: str, practice: str) -> User:
    username, role, practice = _check(username, role, practice)
    try:
        digest = passwords.hash_password(password)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    with store.transaction() as db:
        if db.scalar(select(UserRow.id).where(UserRow.username == username)) is not None:
            raise UserError(f"user {username!r} exists already (use `dwcoder users reset`)")
        row = UserRow(username=username, role=role, practice=practice, password_hash=digest,
                      password_changed_at=datetime.now(timezone.utc))
        db.add(row)
        db.flush()
        return to_user(row)


def reset_user(store, username: str, password: str | None = None, role: str | None = None,
               practice: str | None = None, disabled: bool | None = None) -> User:
    """New password and/or role, practice, disabled flag. Every session of the user ends."""
    with store.transaction() as db:
        row = db.scalar(select(UserRow).where(UserRow.username == username.strip()))
        if row is None:
            raise UserError(f"no user {username.strip()!r}")
        _, new_role, new_practice = _check(row.username, role or row.role, practice or row.practice)
        if password is not None:
            try:
                row.password_hash = passwords.hash_password(password)
            except ValueError as exc:
                raise UserError(str(exc)) from None
            row.password_changed_at = datetime.now(timezone.utc)
        row.role, row.practice = new_role, new_practice
        if disabled is not None:
            row.disabled = disabled
        db.execute(delete(AuthSession).where(AuthSession.user_id == row.id))
        return to_user(row)


def list_users(store) -> list[tuple[User, str, bool]]:
    """(user, "password" | "oidc", disabled) by username."""
    with store.sessions() as db:
        rows = db.scalars(select(UserRow).order_by(UserRow.username)).all()
        return [(to_user(r), "oidc" if r.oidc_subject else "password", r.disabled) for r in rows]


def password_sign_in(store, username: str, password: str) -> User | None:
    """The user if the password matches an enabled password user; the hash is upgraded when its parameters
    are old. Unknown users cost the same time as a wrong password."""
    with store.sessions() as db:
        row = db.scalar(select(UserRow).where(UserRow.username == username.strip()))
    if row is None or row.disabled or not row.password_hash:
        passwords.waste_time(password)
        return None
    ok, new_hash = passwords.verify(row.password_hash, password)
    if not ok:
        return None
    if new_hash:
        with store.transaction() as db:
            db.get(UserRow, row.id).password_hash = new_hash
    return to_user(row)


def oidc_user(store, issuer: str, subject: str, username: str, role: str, practice: str) -> User | None:
    """The user of (issuer, subject), created or brought up to date from the claims; None if disabled."""
    username, role, practice = _check(username, role, practice)
    with store.transaction() as db:
        row = db.scalar(select(UserRow).where(UserRow.oidc_issuer == issuer, UserRow.oidc_subject == subject))
        if row is None:
            taken = db.scalar(select(UserRow.id).where(UserRow.username == username))
            name = username if taken is None else f"{username}@{issuer.split('://', 1)[-1]}"[:USERNAME_MAX]
            row = UserRow(username=name, role=role, practice=practice, password_hash="",
                          oidc_issuer=issuer, oidc_subject=subject)
            db.add(row)
            db.flush()
        elif row.disabled:
            return None
        else:
            row.role, row.practice = role, practice
        return to_user(row)
