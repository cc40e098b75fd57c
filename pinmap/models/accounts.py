"""Accounts: users, API tokens, sign-in attempts and server-side sessions."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .base import TimestampMixin, enum_check

# Names for the annotations only: SQLAlchemy resolves them through its class registry.
if TYPE_CHECKING:
    from .offices import Office

ROLES = ("office_editor", "office_director", "reviewer", "admin", "coach")
OFFICE_ROLES = ("office_editor", "office_director")


class User(TimestampMixin, Base):
    """A person who signs in: office staff (office_id set) or OBEC staff (office_id NULL)."""

    __tablename__ = "users"
    __table_args__ = (
        enum_check("role", ROLES),
        # Office roles belong to an office; OBEC roles to none.
        CheckConstraint(
            "(role IN ('office_editor', 'office_director')) = (office_id IS NOT NULL)",
            name="ck_users_office_matches_role",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on a password change or a new role or office (sessions themselves end through
    # their UserSession rows).
    session_epoch: Mapped[int] = mapped_column(Integer, default=1)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when an admin hands out a one-time password: the user must choose their own first.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())

    office: Mapped[Office | None] = relationship()

    # Flask-Login protocol, kept here so models stay free of Flask imports.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # Flask-Login puts this in the cookie: the key of the server-side session that
        # security.sign_in started (UserSession), never the user id itself.
        key = self.__dict__.get("session_key")
        if not key:
            raise RuntimeError("start a session with pinmap.security.sign_in")
        return str(key)


class ApiToken(Base):
    """A bearer token for machine clients; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Failed sign-ins, counted per account and per address to slow down guessing."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str] = mapped_column(String(45), index=True)
    at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


class UserSession(Base):
    """One signed-in browser. The cookie carries a random key whose SHA-256 is stored here.

    Every request looks the row up, so revoking it (sign-out, password change, deactivation,
    a new role or office) ends the session on every host at once, and a copy of the cookie
    taken before is worthless afterwards.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    ip: Mapped[str | None] = mapped_column(String(45))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Why it ended: sign-out, password, deactivated, rights (role or office), reset.
    revoked_reason: Mapped[str | None] = mapped_column(String(20))

    user: Mapped[User] = relationship()


class PasswordReset(Base):
    """A password-reset link sent by e-mail: only the token's SHA-256 is stored; it works once
    and until `expires_at`."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str | None] = mapped_column(String(45))

    user: Mapped[User] = relationship()
