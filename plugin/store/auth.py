"""Sign-in tables (issue 9). Registered with the other tables by one import in models.py.

    users            one row per person: username (unique), role (reviewer | admin), practice (SYSTEM|VALUE the
                     user may see, "*" = every practice), argon2 hash (empty for OpenID Connect users),
                     OIDC issuer + subject (empty for password users), disabled flag
    auth_sessions    server-side sessions: SHA-256 of the random 256-bit cookie value (the value itself is never
                     stored), the user, its CSRF token, created / last seen (idle and absolute expiry)
    login_throttle   failed sign-ins per key ("user:<name>", "addr:<client address>"): count, last failure,
                     blocked until (bounded exponential backoff)
    oidc_logins      an OpenID Connect sign-in under way: state -> nonce, PKCE verifier, where to go after
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.store.models import Base, now


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_users_oidc"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    practice: Mapped[str] = mapped_column(String(300))
    password_hash: Mapped[str] = mapped_column(String(300), default="")
    oidc_issuer: Mapped[str | None] = mapped_column(String(500), nullable=True)
    oidc_subject: Mapped[str | None] = mapped_column(String(300), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuthSession(Base):
    __tablename__ = "auth_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(Integer)  # Unix seconds (the service clock)
    last_seen_at: Mapped[int] = mapped_column(Integer)


class LoginThrottle(Base):
    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[int] = mapped_column(Integer, default=0)


class OidcLogin(Base):
    __tablename__ = "oidc_logins"
    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    verifier: Mapped[str] = mapped_column(String(128))
    next_url: Mapped[str] = mapped_column(String(1000), default="/")
    created_at: Mapped[int] = mapped_column(Integer)
