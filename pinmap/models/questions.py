"""Questions and answers: an office's questions to OBEC under a fixed category, OBEC's answer
(each change of answer is a new version, told to the asker once), and the public FAQ entries
made from them in OBEC's own public wording (never naming the office or the asker).

The categories are a fixed list kept here (with a CHECK constraint), not a table: they change
with the monitoring framework's help menu, seldom, and a change is a reviewed code change.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .accounts import User
from .base import enum_check
from .offices import Office

# key -> English label (translated in pinmap/translations); the order the pages list them in.
QUESTION_CATEGORIES: dict[str, str] = {
    "reporting": "Reporting data",
    "system": "Using the system",
    "indicators": "Policies and indicators",
    "documents": "Forms and documents",
    "coaching": "Coaching and monitoring visits",
    "other": "Other questions",
}
QUESTION_STATES = ("open", "answered")


class Question(Base):
    """One question from one office; `answer_version` counts the answers given (0: none)."""

    __tablename__ = "questions"
    __table_args__ = (
        enum_check("category", tuple(QUESTION_CATEGORIES)),
        enum_check("status", QUESTION_STATES),
        # OBEC's queue: the open questions, oldest first.
        Index("ix_questions_open", "created_at", postgresql_where="status = 'open'"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    asker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    category: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    answer: Mapped[str] = mapped_column(Text, default="")
    answer_version: Mapped[int] = mapped_column(Integer, default=0)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    office: Mapped[Office] = relationship()
    asker: Mapped[User | None] = relationship(foreign_keys=[asker_id])


class FaqEntry(Base):
    """A published question and answer, in OBEC's public wording. `search_text` is the
    normalised question and answer (services/search.normalise), matched by substring through a
    trigram index: Thai is written without spaces between words."""

    __tablename__ = "faq_entries"
    __table_args__ = (
        enum_check("category", tuple(QUESTION_CATEGORIES)),
        Index(
            "ix_faq_entries_search",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("questions.id", ondelete="SET NULL"), unique=True
    )
    category: Mapped[str] = mapped_column(String(20), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
