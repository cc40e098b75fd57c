"""Notifications: each message to a user (the in-app inbox), its outbox deliveries by e-mail and
webhook, and each user's preferences.

A notification is unique per (kind, user, subject, occasion): the event that causes it inserts it
in its own transaction with ON CONFLICT DO NOTHING, so a retried request, a second scheduler or a
restart never records a message twice. Each delivery row is claimed with FOR UPDATE SKIP LOCKED
by the sender, so two delivery runs never send the same row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from .base import enum_check

NOTIFICATION_KINDS = (
    "report_returned",
    "report_approved",
    "window_open",
    "window_closing",
    "visit_planned",
    "feedback_published",
    "question_answered",
)
CHANNELS = ("email", "webhook")
NOTIFY_LANGUAGES = ("th", "en")
DELIVERY_STATES = ("pending", "sent", "failed", "skipped")


class Notification(Base):
    """One message to one user; `read_at` is NULL while it is unread in the inbox."""

    __tablename__ = "notifications"
    __table_args__ = (
        enum_check("kind", NOTIFICATION_KINDS),
        UniqueConstraint("kind", "user_id", "subject", "occasion", name="uq_notifications_once"),
        # The header's unread count: one index-only lookup per page.
        Index(
            "ix_notifications_unread",
            "user_id",
            postgresql_where="read_at IS NULL",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(120))  # what it is about: "report:12", "window:3"
    occasion: Mapped[str] = mapped_column(String(80))  # which time: "return:881", "closes-in:7"
    # Texts are rendered from the kind's message and these values in the reader's language.
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    link: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class NotificationDelivery(Base):
    """The outbox: one channel's delivery of one notification, retried with backoff."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        enum_check("channel", CHANNELS),
        enum_check("status", DELIVERY_STATES),
        UniqueConstraint("notification_id", "channel", name="uq_notification_deliveries_once"),
        Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
        Index(
            "ix_notification_deliveries_digest",
            "next_attempt_at",
            postgresql_where="status = 'pending' AND digest",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_error: Mapped[str] = mapped_column(Text, default="")
    # Part of the recipient's daily digest: sent in one e-mail with the user's other due ones.
    digest: Mapped[bool] = mapped_column(default=False, server_default=false())
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class NotificationPreference(Base):
    """A user's choices; a user without a row gets every kind by e-mail, one message each."""

    __tablename__ = "notification_preferences"
    __table_args__ = (enum_check("language", NOTIFY_LANGUAGES),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Kinds the user does not want by e-mail (still in the inbox).
    email_off: Mapped[list[str]] = mapped_column(JSONB, default=list)
    daily_digest: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The language of the user's e-mails and webhook texts (users have no other setting).
    language: Mapped[str] = mapped_column(String(2), default="th", server_default="th")
